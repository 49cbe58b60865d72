// The backoff in a real browser: the server stays down for 60 s while the browser is online. The
// worker must not storm it (at most ~10 attempts for one upload), and must finish by itself once
// the server is back, with no page action. Real time (the outage is the point), every wait on a
// state. Chromium only: a minute per engine is a lot of CI time for what the fake-clock tests of
// the same policy (test/sw/engine-retry.test.ts) already pin down.
import { describe, expect } from 'vitest';
import { faultCase, selectedEngines } from './cases.js';
import { completedHashes, makeFile, rows, until, waitForRows } from './harness.js';

const MiB = 1024 * 1024;

for (const engine of selectedEngines().filter((e) => e.name === 'chromium')) {
  describe(`backoff · ${engine.name}`, () => {
    faultCase(
      engine,
      { id: 'R1', title: 'a server down for 60 s with the browser online gets at most 10 attempts from one upload, which then finishes by itself', lab: { childServer: true, bytesPerSecond: 4 * MiB }, timeoutMs: 300_000 },
      async (lab) => {
        const source = await makeFile(lab.filesDir, 'outage.bin', 8 * MiB);
        const page = await lab.open();
        await page.pick('#file', [source.path]);
        await until('an upload under way', async () => (await rows(page)).some((r) => r.offset > 0));
        await lab.killServer();
        // The proxy stays up, so every attempt is a connection it accepts and then drops.
        const before = lab.proxy.stats().connections;
        const outageStart = Date.now();
        await until('the row waiting', async () => (await rows(page)).some((r) => r.state === 'waiting'));
        // The page stays open and online the whole time: its keep-alive pings keep the worker running.
        await until('60 s of outage', async () => Date.now() - outageStart >= 60_000, 90_000);
        const attempts = lab.proxy.stats().connections - before;
        expect(attempts).toBeLessThanOrEqual(10);
        expect(attempts).toBeGreaterThanOrEqual(3); // it did keep trying
        expect((await rows(page)).map((r) => r.state)).toEqual(['waiting']);
        await lab.startServer();
        const back = Date.now();
        await waitForRows(page, 1, ['done'], 90_000);
        // The cap is 60 s between tries, plus the rest of the upload.
        expect(Date.now() - back).toBeLessThan(85_000);
        expect(await completedHashes(lab.uploadDir)).toEqual(new Set([source.sha256]));
        return { attemptsIn60s: attempts };
      },
    );
  });
}
