// The demo in every engine: files picked in the page reach the server through the service
// worker byte-identical, and the list comes back after a reload.
import { describe, expect } from 'vitest';
import { faultCase, selectedEngines } from './cases.js';
import { completedHashes, makeFile, rows, until, waitForRows } from './harness.js';

for (const engine of selectedEngines()) {
  describe(`demo PWA · ${engine.name}`, () => {
    faultCase(engine, { id: 'reload', title: 'uploads picked files through the service worker, byte-identical; the list survives a reload' }, async (lab) => {
      const sources = [
        await makeFile(lab.filesDir, 'one.bin', 1024 * 1024),
        await makeFile(lab.filesDir, 'été à la plage ✈.bin', 3 * 1024 * 1024 + 17),
        await makeFile(lab.filesDir, 'tiny.txt', 1),
      ];
      const page = await lab.open();
      expect(await page.evaluate(() => navigator.serviceWorker.ready.then((r) => r.active !== null), null)).toBe(true);
      await page.pick('#file', sources.map((f) => f.path));
      const done = await waitForRows(page, sources.length, ['done']);
      expect(done.map((r) => r.name).sort()).toEqual(sources.map((f) => f.name).sort());
      expect(await completedHashes(lab.uploadDir)).toEqual(new Set(sources.map((f) => f.sha256)));

      // The list comes back after a reload, and re-adding a finished file does not upload it twice.
      await page.reload();
      await until('the demo ready after reload', () => page.evaluate(() => document.body?.dataset.ready === 'true', null), 30_000);
      expect((await rows(page)).map((r) => r.state)).toEqual(['done', 'done', 'done']);
      const requests = lab.proxy.stats().requests;
      await page.pick('#file', [sources[0]!.path]);
      await new Promise((r) => setTimeout(r, 500));
      expect(await rows(page)).toHaveLength(3);
      return { requestsAfterReAdd: lab.proxy.stats().requests - requests };
    });
  });
}
