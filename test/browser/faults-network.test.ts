// Fault suite, network cases: baseline, devtools-style offline, a flaky link, a hanging server.
// Every case ends by comparing the SHA-256 of each source with the file the server completed.
import { afterEach, describe, expect, it } from 'vitest';
import { completedHashes, makeFile, rows, waitForRows } from './harness.js';
import { openLab, until, type Lab } from './lab.js';

const MiB = 1024 * 1024;

describe('fault suite: network', () => {
  let lab: Lab | undefined;
  afterEach(async () => {
    await lab?.close();
    lab = undefined;
  });

  it('1. baseline: several files at once, from empty to 64 MiB, all reach done', async () => {
    lab = await openLab();
    const sources = [
      await makeFile(lab.filesDir, 'empty.bin', 0),
      await makeFile(lab.filesDir, 'one-byte.bin', 1),
      await makeFile(lab.filesDir, 'one-mib.bin', MiB),
      await makeFile(lab.filesDir, 'big.bin', 64 * MiB),
      await makeFile(lab.filesDir, 'vacances d’été à Noël 🎄.txt', 12_345),
    ];
    const page = await lab.open();
    await page.setInputFiles('#file', sources.map((f) => f.path));
    await waitForRows(page, sources.length, ['done']);
    expect(await completedHashes(lab.uploadDir)).toEqual(new Set(sources.map((f) => f.sha256)));
  });

  it('2. offline mid-upload (page and worker): rows wait, then resume from the server offset by themselves', async () => {
    lab = await openLab({ bytesPerSecond: 4 * MiB });
    const sources = [await makeFile(lab.filesDir, 'a.bin', 16 * MiB), await makeFile(lab.filesDir, 'b.bin', 12 * MiB)];
    const page = await lab.open();
    await page.setInputFiles('#file', sources.map((f) => f.path));
    await until('some bytes confirmed', async () => (await rows(page)).some((r) => r.offset > 0));
    await lab.context.setOffline(true);
    const waiting = await until('rows waiting', async () => {
      const now = await rows(page);
      return now.some((r) => r.state === 'waiting') && now.every((r) => ['waiting', 'done'].includes(r.state)) && now;
    });
    expect(waiting.some((r) => r.state === 'failed')).toBe(false);
    // The worker asked for Background Sync, so the browser restarts it once back online even with no tab.
    const tags = await page.evaluate(async () => {
      const registration = (await navigator.serviceWorker.ready) as ServiceWorkerRegistration & { sync?: { getTags(): Promise<string[]> } };
      return registration.sync ? await registration.sync.getTags() : ['no SyncManager'];
    });
    expect(tags).toContain('resilient-upload');
    const sentWhileOffline = lab.proxy.stats().clientToServerBytes;
    await new Promise((r) => setTimeout(r, 1500));
    expect(lab.proxy.stats().clientToServerBytes).toBe(sentWhileOffline);
    await lab.context.setOffline(false);
    await waitForRows(page, 2, ['done']);
    expect(await completedHashes(lab.uploadDir)).toEqual(new Set(sources.map((f) => f.sha256)));
    // Resumed from the server's offset: at most the chunk in flight per file went twice.
    const total = sources.reduce((n, f) => n + f.size, 0);
    const stats = lab.proxy.stats();
    expect(stats.maxBodyBytes).toBeLessThan(8 * MiB);
    expect(stats.bodyBytes - total).toBeLessThanOrEqual(sources.length * stats.maxBodyBytes);
  });

  it('3. flaky network: many cuts at random byte positions; each cut costs at most one chunk', async () => {
    lab = await openLab({ bytesPerSecond: 8 * MiB });
    const source = await makeFile(lab.filesDir, 'flaky.bin', 24 * MiB);
    const cuts: number[] = [];
    for (let at = 0; cuts.length < 8; ) {
      at += MiB + Math.floor(Math.random() * 2 * MiB);
      cuts.push(at);
    }
    lab.proxy.cutAt(cuts);
    const page = await lab.open();
    await page.setInputFiles('#file', [source.path]);
    await waitForRows(page, 1, ['done']);
    expect(await completedHashes(lab.uploadDir)).toEqual(new Set([source.sha256]));
    const stats = lab.proxy.stats();
    expect(stats.cuts).toBeGreaterThanOrEqual(cuts.length);
    // A cut costs at most the chunk it hit (all of it with a digest), never a restart from zero.
    expect(stats.maxBodyBytes).toBeLessThanOrEqual(source.size / 2);
    expect(stats.bodyBytes - source.size).toBeLessThanOrEqual(stats.cuts * stats.maxBodyBytes);
  });

  it('11. a server that hangs: requests time out and are retried; the upload does not stall', async () => {
    lab = await openLab({ bytesPerSecond: 4 * MiB });
    const source = await makeFile(lab.filesDir, 'hang.bin', 8 * MiB);
    // Short request timeouts (3 s plus the body at 1 MiB/s) keep the test brief; defaults are 30 s + 64 KiB/s.
    const page = await lab.open('?timeoutBaseMs=3000&timeoutMinBytesPerSecond=1048576');
    await page.setInputFiles('#file', [source.path]);
    await until('some bytes confirmed', async () => (await rows(page)).some((r) => r.offset > 0));
    lab.proxy.setHang(true);
    const stalled = await until('a timeout reported', async () => (await rows(page)).find((r) => r.state === 'waiting'), 120_000);
    expect(stalled.error).toMatch(/time/i);
    lab.proxy.setHang(false);
    await waitForRows(page, 1, ['done']);
    expect(await completedHashes(lab.uploadDir)).toEqual(new Set([source.sha256]));
  });
});
