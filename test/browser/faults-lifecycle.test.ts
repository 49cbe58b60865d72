// Fault suite, lifecycle cases, in every engine: the tab closes, the worker is stopped, the
// browser quits, the server dies.
import { describe, expect } from 'vitest';
import { faultCase, selectedEngines } from './cases.js';
import { completedHashes, makeFile, rows, until, waitForRows } from './harness.js';

const MiB = 1024 * 1024;

for (const engine of selectedEngines()) {
  describe(`fault suite: lifecycle · ${engine.name}`, () => {
    faultCase(
      engine,
      { id: '4', title: 'close the tab mid-upload, open the page again: the list is there and uploads finish', lab: { bytesPerSecond: 4 * MiB } },
      async (lab) => {
        const sources = [await makeFile(lab.filesDir, 'x.bin', 16 * MiB), await makeFile(lab.filesDir, 'y.bin', 2 * MiB)];
        let page = await lab.open();
        await page.pick('#file', sources.map((f) => f.path));
        await until('an upload under way', async () => (await rows(page)).some((r) => r.offset > 0 && r.state === 'uploading'));
        await page.close();
        // Where the driver can, stop the worker as the browser eventually does once no tab is left
        // (Chromium never does it on its own while devtools is attached).
        const stopped = engine.missing.stopWorker === undefined;
        if (stopped) await lab.session.stopServiceWorkers();
        page = await lab.open();
        const listed = await rows(page);
        expect(listed.map((r) => r.name).sort()).toEqual(['x.bin', 'y.bin']);
        await waitForRows(page, 2, ['done']);
        expect(await completedHashes(lab.uploadDir)).toEqual(new Set(sources.map((f) => f.sha256)));
        return { workerStoppedWhileNoTab: stopped };
      },
    );

    faultCase(
      engine,
      {
        id: '5',
        title: 'the service worker is stopped mid-upload: uploads continue on its next start',
        needs: ['stopWorker'],
        lab: { bytesPerSecond: 4 * MiB },
      },
      async (lab) => {
        const source = await makeFile(lab.filesDir, 'stopped.bin', 20 * MiB);
        const page = await lab.open();
        await page.pick('#file', [source.path]);
        await until('an upload under way', async () => (await rows(page)).some((r) => r.offset > 0));
        await lab.session.stopServiceWorkers();
        const before = (await rows(page))[0]!.offset;
        // No page action: the open tab's keep-alive starts the worker again.
        await waitForRows(page, 1, ['done']);
        expect(before).toBeLessThan(source.size);
        expect(await completedHashes(lab.uploadDir)).toEqual(new Set([source.sha256]));
      },
    );

    faultCase(
      engine,
      { id: '6', title: 'the whole browser quits mid-upload and starts again with the same profile: uploads finish', lab: { bytesPerSecond: 4 * MiB } },
      async (lab) => {
        const source = await makeFile(lab.filesDir, 'relaunch.bin', 16 * MiB);
        const page = await lab.open();
        await page.pick('#file', [source.path]);
        await until('an upload under way', async () => (await rows(page)).some((r) => r.offset > 0));
        await lab.relaunch();
        const again = await lab.open();
        expect((await rows(again)).map((r) => r.name)).toEqual(['relaunch.bin']);
        await waitForRows(again, 1, ['done']);
        expect(await completedHashes(lab.uploadDir)).toEqual(new Set([source.sha256]));
      },
    );

    faultCase(
      engine,
      { id: '7', title: 'the server is SIGKILLed mid-upload and restarted: uploads wait, then finish', lab: { childServer: true, bytesPerSecond: 4 * MiB } },
      async (lab) => {
        const source = await makeFile(lab.filesDir, 'killed.bin', 16 * MiB);
        const page = await lab.open();
        await page.pick('#file', [source.path]);
        await until('an upload under way', async () => (await rows(page)).some((r) => r.offset > 0));
        await lab.killServer();
        await until('the row waiting', async () => (await rows(page)).some((r) => r.state === 'waiting'));
        expect((await rows(page)).some((r) => r.state === 'failed')).toBe(false);
        // The page says what is wrong: online, but the server cannot be reached, and why.
        const badge = await until('the badge saying so', async () => {
          const text = await page.evaluate(() => document.getElementById('network')?.textContent ?? '', null);
          return text.includes('server unreachable') && text;
        });
        expect(badge).toBe('online · server unreachable');
        expect((await rows(page))[0]!.error).not.toBe('');
        await new Promise((r) => setTimeout(r, 3000));
        await lab.startServer();
        await waitForRows(page, 1, ['done']);
        expect(await completedHashes(lab.uploadDir)).toEqual(new Set([source.sha256]));
        // The error was current while it lasted, and is gone with it.
        expect((await rows(page))[0]!.error).toBe('');
        expect(await page.evaluate(() => document.getElementById('network')?.textContent, null)).toBe('online');
      },
    );
  });
}
