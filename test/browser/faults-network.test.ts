// Fault suite, network cases, in every engine: baseline, offline (the proxy refuses every
// connection, which reaches page and worker alike in all engines), devtools offline where the
// engine has it, a flaky link, a hanging server. Every case ends by comparing the SHA-256 of
// each source with the file the server completed.
import { describe, expect } from 'vitest';
import { faultCase, selectedEngines } from './cases.js';
import { completedHashes, makeFile, rows, until, waitForRows } from './harness.js';

const MiB = 1024 * 1024;

for (const engine of selectedEngines()) {
  describe(`fault suite: network · ${engine.name}`, () => {
    faultCase(engine, { id: '0', title: 'platform: the APIs the uploader relies on, and which resume triggers exist' }, async (lab) => {
      const page = await lab.open();
      const facts = await page.evaluate(async () => {
        const registration = await navigator.serviceWorker.ready;
        const has = (v: unknown): boolean => v !== undefined && v !== null;
        return {
          serviceWorker: has(registration.active),
          indexedDB: has(globalThis.indexedDB),
          subtleDigest: typeof crypto.subtle?.digest === 'function',
          blobStream: typeof Blob.prototype.stream === 'function',
          byobReader: typeof (globalThis as { ReadableStreamBYOBReader?: unknown }).ReadableStreamBYOBReader === 'function',
          abortSignalAny: typeof (AbortSignal as { any?: unknown }).any === 'function',
          abortSignalTimeout: typeof AbortSignal.timeout === 'function',
          storagePersist: typeof navigator.storage?.persist === 'function',
          storageEstimate: typeof navigator.storage?.estimate === 'function',
          webLocks: has((navigator as { locks?: unknown }).locks),
          structuredClone: typeof structuredClone === 'function',
          backgroundSync: has((registration as { sync?: unknown }).sync),
          backgroundFetch: has((registration as { backgroundFetch?: unknown }).backgroundFetch),
        };
      }, null);
      // What the uploader cannot run without; the rest is recorded for the README's table.
      expect({ sw: facts.serviceWorker, idb: facts.indexedDB, digest: facts.subtleDigest }).toEqual({ sw: true, idb: true, digest: true });
      return facts;
    });

    faultCase(engine, { id: '1', title: 'baseline: several files at once, from empty to 64 MiB, all reach done' }, async (lab) => {
      const sources = [
        await makeFile(lab.filesDir, 'empty.bin', 0),
        await makeFile(lab.filesDir, 'one-byte.bin', 1),
        await makeFile(lab.filesDir, 'one-mib.bin', MiB),
        await makeFile(lab.filesDir, 'big.bin', 64 * MiB),
        await makeFile(lab.filesDir, 'vacances d’été à Noël 🎄.txt', 12_345),
      ];
      const page = await lab.open();
      await page.pick('#file', sources.map((f) => f.path));
      await waitForRows(page, sources.length, ['done']);
      expect(await completedHashes(lab.uploadDir)).toEqual(new Set(sources.map((f) => f.sha256)));
    });

    faultCase(
      engine,
      { id: '2', title: 'offline mid-upload (the server unreachable for page and worker): rows wait, then resume from the server offset', lab: { bytesPerSecond: 4 * MiB } },
      async (lab) => {
        const sources = [await makeFile(lab.filesDir, 'a.bin', 16 * MiB), await makeFile(lab.filesDir, 'b.bin', 12 * MiB)];
        const page = await lab.open();
        await page.pick('#file', sources.map((f) => f.path));
        await until('some bytes confirmed', async () => (await rows(page)).some((r) => r.offset > 0));
        await lab.proxy.setOffline(true);
        const waiting = await until('rows waiting', async () => {
          const now = await rows(page);
          return now.some((r) => r.state === 'waiting') && now.every((r) => ['waiting', 'done'].includes(r.state)) && now;
        });
        expect(waiting.some((r) => r.state === 'failed')).toBe(false);
        await lab.proxy.setOffline(false);
        await waitForRows(page, 2, ['done']);
        expect(await completedHashes(lab.uploadDir)).toEqual(new Set(sources.map((f) => f.sha256)));
        // Resumed from the server's offset: what went twice is at most what was in flight when the
        // link dropped (the server keeps every byte of a body without a digest of its own; each
        // file goes in one streamed request), never the file from zero.
        const total = sources.reduce((n, f) => n + f.size, 0);
        const stats = lab.proxy.stats();
        expect(stats.bodyBytes - total).toBeLessThanOrEqual(sources.length * 4 * MiB);
        return { resentBytes: stats.bodyBytes - total, largestBody: stats.maxBodyBytes };
      },
    );

    faultCase(
      engine,
      {
        id: '2b',
        title: 'devtools offline (page and worker): the request under way stops, rows wait, Background Sync is registered, then they resume',
        needs: ['networkEmulation'],
        lab: { bytesPerSecond: 4 * MiB },
      },
      async (lab) => {
        // Big enough to go in one streamed request of 12 s, which devtools' offline would let run
        // to its end: the page's `offline` stops it.
        const sources = [await makeFile(lab.filesDir, 'a.bin', 48 * MiB)];
        const page = await lab.open();
        await page.pick('#file', sources.map((f) => f.path));
        await until('some bytes confirmed', async () => (await rows(page)).some((r) => r.offset > 0));
        await lab.session.setOffline(true);
        await until('the row waiting', async () => (await rows(page)).some((r) => r.state === 'waiting'));
        const requestsWhileOffline = lab.proxy.stats().requests;
        // The worker asked for Background Sync, so the browser restarts it once back online even with no tab.
        const tags = await page.evaluate(async () => {
          const registration = (await navigator.serviceWorker.ready) as ServiceWorkerRegistration & { sync?: { getTags(): Promise<string[]> } };
          return registration.sync ? await registration.sync.getTags() : ['no SyncManager'];
        }, null);
        expect(tags).toContain('resilient-upload');
        await new Promise((r) => setTimeout(r, 1500));
        // No request reaches the server while offline; of the stopped one, only what the sockets
        // had buffered still drains through the 4 MiB/s proxy, never the rest of the file.
        expect(lab.proxy.stats().requests).toBe(requestsWhileOffline);
        const stoppedAt = lab.proxy.stats().bodyBytes;
        expect(stoppedAt).toBeLessThan(sources[0]!.size / 2);
        await lab.session.setOffline(false);
        await waitForRows(page, 1, ['done']);
        expect(await completedHashes(lab.uploadDir)).toEqual(new Set(sources.map((f) => f.sha256)));
        return { syncTagRegistered: true, bodyBytesWhenStopped: stoppedAt };
      },
    );

    faultCase(engine, { id: '3', title: 'flaky network: many cuts at random byte positions; each cut costs at most what was in flight', lab: { bytesPerSecond: 8 * MiB } }, async (lab) => {
      const source = await makeFile(lab.filesDir, 'flaky.bin', 24 * MiB);
      const cuts: number[] = [];
      for (let at = 0; cuts.length < 8; ) {
        at += MiB + Math.floor(Math.random() * 2 * MiB);
        cuts.push(at);
      }
      lab.proxy.cutAt(cuts);
      const page = await lab.open();
      await page.pick('#file', [source.path]);
      await waitForRows(page, 1, ['done']);
      expect(await completedHashes(lab.uploadDir)).toEqual(new Set([source.sha256]));
      const stats = lab.proxy.stats();
      expect(stats.cuts).toBeGreaterThanOrEqual(cuts.length);
      // Never a restart from zero: once a POST started past 0, none starts at 0 again (a browser
      // may replay a cut POST as it was, at its own start, before the engine hears of the cut).
      const resumed = stats.postStarts.findIndex((start) => start > 0);
      expect(resumed).toBeGreaterThan(0);
      expect(stats.postStarts.slice(resumed)).not.toContain(0);
      // A cut costs what was in flight (the server keeps every byte that arrived of a body without a
      // digest of its own): buffers, and a POST the engine replays on a new connection until the
      // server's 409 stops it (0–4 MiB a cut here), at most about a second of this link.
      expect(stats.bodyBytes - source.size).toBeLessThanOrEqual(stats.cuts * 8 * MiB);
      return { cuts: stats.cuts, resentBytes: stats.bodyBytes - source.size, largestBody: stats.maxBodyBytes, posts: stats.postStarts.length };
    });

    faultCase(engine, { id: '11', title: 'a server that hangs: requests time out and are retried; the upload does not stall', lab: { bytesPerSecond: 4 * MiB } }, async (lab) => {
      const source = await makeFile(lab.filesDir, 'hang.bin', 8 * MiB);
      // Short request timeouts (3 s plus the body at 1 MiB/s) keep the test brief; defaults are 30 s + 64 KiB/s.
      const page = await lab.open('?timeoutBaseMs=3000&timeoutMinBytesPerSecond=1048576');
      await page.pick('#file', [source.path]);
      await until('some bytes confirmed', async () => (await rows(page)).some((r) => r.offset > 0));
      lab.proxy.setHang(true);
      const stalled = await until('a timeout reported', async () => (await rows(page)).find((r) => r.state === 'waiting'), 120_000);
      expect(stalled.error).toMatch(/time/i);
      lab.proxy.setHang(false);
      await waitForRows(page, 1, ['done']);
      expect(await completedHashes(lab.uploadDir)).toEqual(new Set([source.sha256]));
    });
  });
}
