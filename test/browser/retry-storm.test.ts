// The backoff in a real browser: the server stays down for 60 s while the browser is online. The
// worker must not storm it (at most ~10 attempts for one upload), and must finish by itself once
// the server is back, with no page action. Real time, but every wait is on a state.
import { afterEach, describe, expect, it } from 'vitest';
import { completedHashes, makeFile, rows, waitForRows } from './harness.js';
import { openLab, until, type Lab } from './lab.js';

const MiB = 1024 * 1024;

describe('backoff in Chromium', () => {
  let lab: Lab | undefined;
  afterEach(async () => {
    await lab?.close();
    lab = undefined;
  });

  it('a server down for 60 s with the browser online gets at most 10 attempts from one upload, which then finishes by itself', async () => {
    lab = await openLab({ childServer: true, bytesPerSecond: 4 * MiB });
    const source = await makeFile(lab.filesDir, 'outage.bin', 8 * MiB);
    const page = await lab.open();
    await page.setInputFiles('#file', [source.path]);
    await until('an upload under way', async () => (await rows(page)).some((r) => r.offset > 0));
    await lab.killServer();
    // The proxy stays up, so every attempt is a connection it accepts and then drops.
    const before = lab.proxy.stats().connections;
    const outageStart = Date.now();
    await until('the row waiting', async () => (await rows(page)).some((r) => r.state === 'waiting'));
    // The page stays open and online the whole time: its keep-alive pings keep the worker running.
    await until('60 s of outage', async () => Date.now() - outageStart >= 60_000, 90_000);
    const attempts = lab.proxy.stats().connections - before;
    console.info(`attempts during a 60 s outage: ${attempts}`);
    expect(attempts).toBeLessThanOrEqual(10);
    expect(attempts).toBeGreaterThanOrEqual(3); // it did keep trying
    expect((await rows(page)).map((r) => r.state)).toEqual(['waiting']);
    await lab.startServer();
    const back = Date.now();
    await waitForRows(page, 1, ['done'], 90_000);
    // The cap is 60 s between tries; one more upload's worth of time on top.
    expect(Date.now() - back).toBeLessThan(85_000);
    expect(await completedHashes(lab.uploadDir)).toEqual(new Set([source.sha256]));
  }, 240_000);
});
