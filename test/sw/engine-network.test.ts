// The engine against the real server through the fault proxy: cuts, offline, many files.
import { afterEach, describe, expect, it } from 'vitest';
import { MiB } from '../../sw/chunk-size.js';
import { TEST_CHUNK, addRequest, completedSha, makeBytes, sha256, startHarness, viewOf, waitFor, type Harness } from './harness.js';

let h: Harness | undefined;
afterEach(async () => {
  await h?.close();
  h = undefined;
});

describe('engine over a bad network', () => {
  it('uploads several files at once, byte-identical, then deletes the Blobs and keeps the records', async () => {
    h = await startHarness();
    const engine = h.engine();
    const files = [makeBytes(1 * MiB + 17, 1), makeBytes(2.5 * MiB, 2), makeBytes(0, 3), makeBytes(300_000, 4)];
    const views = [];
    for (const [i, bytes] of files.entries()) views.push(await engine.handle(addRequest(bytes, `f${i}.bin`)));
    await engine.whenIdle();
    for (const [i, view] of views.entries()) {
      expect(viewOf(engine, view.id)).toMatchObject({ state: 'done', offset: files[i]!.length });
      expect(await completedSha(h.server.uploadDir, view.fileId)).toBe(sha256(files[i]!));
      expect(h.events.some((e) => e.type === 'complete' && e.upload.id === view.id)).toBe(true);
    }
    const reopened = h.engine();
    expect((await reopened.handle({ type: 'list' })).map((v) => v.state)).toEqual(['done', 'done', 'done', 'done']);
    const { IdbUploadStore } = await import('../../sw/idb-store.js');
    const store = new IdbUploadStore({ factory: h.factory });
    for (const view of views) expect(await store.getBlob(view.id)).toBeUndefined();
  });

  it.each([
    { digest: true, cuts: [400_000, 1_100_000, 1_900_000, 2_600_000] },
    { digest: false, cuts: [400_000, 1_100_000, 1_900_000, 2_600_000] },
  ])('connections cut mid-chunk (digest $digest): file identical, less than one chunk re-sent per cut', async ({ digest, cuts }) => {
    h = await startHarness();
    const engine = h.engine({ digest });
    const bytes = makeBytes(3 * MiB, 5);
    h.proxy.cutAt(cuts);
    const view = await engine.handle(addRequest(bytes, 'cut.bin'));
    await engine.whenIdle();
    expect(viewOf(engine, view.id).state).toBe('done');
    expect(await completedSha(h.server.uploadDir, view.fileId)).toBe(sha256(bytes));
    const stats = h.proxy.stats();
    expect(stats.cuts).toBe(cuts.length);
    const resent = stats.bodyBytes - bytes.length;
    expect(resent).toBeGreaterThanOrEqual(0);
    expect(resent).toBeLessThan(cuts.length * TEST_CHUNK);
    // The proxy's own count, headers excluded, tells the same.
    expect(stats.clientToServerBytes - stats.headerBytes).toBe(stats.bodyBytes);
    console.info(`digest=${digest}: ${cuts.length} cuts, ${resent} body bytes re-sent (${Math.round(resent / cuts.length)} per cut, chunk ${TEST_CHUNK})`);
  });

  it('offline: waits (not failed) with a NETWORK error, and finishes once back online', async () => {
    h = await startHarness();
    const engine = h.engine({ retry: { baseMs: 50, maxMs: 300 } });
    const bytes = makeBytes(2 * MiB, 6);
    await h.proxy.setOffline(true);
    const view = await engine.handle(addRequest(bytes, 'offline.bin'));
    const waiting = await waitFor(() => engine.views().find((v) => v.id === view.id && v.state === 'waiting'), 10_000, 'waiting');
    expect(waiting.error?.code).toBe('NETWORK');
    expect(waiting.retryAt).toBeGreaterThan(0);
    // It keeps waiting, never fails, while offline.
    await new Promise((r) => setTimeout(r, 400));
    expect(['waiting', 'uploading']).toContain(viewOf(engine, view.id).state);
    expect(viewOf(engine, view.id).attempts).toBeGreaterThan(1);
    await h.proxy.setOffline(false);
    await engine.handle({ type: 'online' });
    await engine.whenIdle();
    expect(viewOf(engine, view.id)).toMatchObject({ state: 'done', attempts: 0 });
    expect(viewOf(engine, view.id).error).toBeUndefined();
    expect(await completedSha(h.server.uploadDir, view.fileId)).toBe(sha256(bytes));
  });

  it('offline mid-upload: resumes from the server offset when back', async () => {
    h = await startHarness();
    const engine = h.engine({ retry: { baseMs: 50, maxMs: 300 }, idleGraceMs: 0 });
    const bytes = makeBytes(4 * MiB, 7);
    const view = await engine.handle(addRequest(bytes, 'mid.bin'));
    await waitFor(() => viewOf(engine, view.id).offset >= 2 * TEST_CHUNK, 10_000, 'some progress');
    await h.proxy.setOffline(true);
    await waitFor(() => viewOf(engine, view.id).state === 'waiting', 10_000, 'waiting');
    const before = h.proxy.stats().bodyBytes;
    await h.proxy.setOffline(false);
    engine.kick('online');
    await waitFor(() => viewOf(engine, view.id).state === 'done', 20_000, 'done');
    expect(await completedSha(h.server.uploadDir, view.fileId)).toBe(sha256(bytes));
    expect(h.proxy.stats().bodyBytes - before).toBeLessThan(bytes.length); // did not start over
  });

  it('a proxy that hangs mid-upload (rate limited): requests time out into waiting, then the upload finishes', async () => {
    h = await startHarness();
    h.proxy.setRate(8 * MiB);
    const engine = h.engine({ timeouts: { baseMs: 300, minBytesPerSecond: 64 * MiB }, retry: { baseMs: 50, maxMs: 200 } });
    const bytes = makeBytes(3 * MiB, 9);
    const view = await engine.handle(addRequest(bytes, 'hang.bin'));
    await waitFor(() => viewOf(engine, view.id).offset > 0, 10_000, 'some progress');
    h.proxy.setHang(true);
    const waiting = await waitFor(() => engine.views().find((v) => v.id === view.id && v.state === 'waiting'), 10_000, 'waiting');
    expect(waiting.error?.message).toMatch(/timed out/);
    h.proxy.setHang(false);
    await waitFor(() => viewOf(engine, view.id).state === 'done', 20_000, 'done');
    expect(await completedSha(h.server.uploadDir, view.fileId)).toBe(sha256(bytes));
  });

  it('a server that never answers times out into waiting instead of stalling', async () => {
    const { createServer } = await import('node:net');
    const held: import('node:net').Socket[] = [];
    const silent = createServer((socket) => void held.push(socket)); // accepts, never answers
    await new Promise<void>((r) => silent.listen(0, '127.0.0.1', () => r()));
    h = await startHarness();
    const port = (silent.address() as { port: number }).port;
    const engine = h.engine({ defaultEndpoint: `http://127.0.0.1:${port}`, timeouts: { baseMs: 300 }, retry: { baseMs: 60_000, maxMs: 60_000 } });
    const view = await engine.handle(addRequest(makeBytes(1000, 8), 'silent.bin'));
    const waiting = await waitFor(() => engine.views().find((v) => v.id === view.id && v.state === 'waiting'), 10_000, 'waiting');
    expect(waiting.error?.code).toBe('NETWORK');
    expect(waiting.error?.message).toMatch(/timed out/);
    await engine.handle({ type: 'pause', uploadId: view.id });
    for (const socket of held) socket.destroy();
    silent.close();
  });
});
