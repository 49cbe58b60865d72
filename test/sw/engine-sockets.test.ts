// The engine on real sockets, against the real server through the fault proxy: what only real
// connections show (cuts mid-body, a proxy going away). Waits on states with generous deadlines.
import { IDBFactory } from 'fake-indexeddb';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { DEFAULT_CHUNK_POLICY } from '../../sw/chunk-size.js';
import { UPLOADS_STORE } from '../../sw/db.js';
import { IdbRecordStore } from '../../sw/idb-record-store.js';
import { FileStore } from '../../server/file-store.js';
import type { UploadEngine } from '../../sw/engine.js';
import { makeBytes, sha256 } from '../helpers/hash.js';
import { until } from '../../lab/poll.js';
import { MiB, TEST_CHUNK, addRequest, completedSha, realServerKit, type RealServerKit } from './kit/real-server.js';

let kit: RealServerKit | undefined;
afterEach(async () => {
  vi.restoreAllMocks();
  await kit?.close();
  kit = undefined;
});

const stateOf = (engine: UploadEngine, id: string) => engine.views().find((v) => v.id === id);

describe('engine on real sockets', () => {
  it('uploads several files at once, byte-identical, drops the files and keeps the records', async () => {
    kit = await realServerKit();
    const engine = kit.engine();
    const files = [makeBytes(1 * MiB + 17, 1), makeBytes(2.5 * MiB, 2), makeBytes(0, 3), makeBytes(300_000, 4)];
    const views = [];
    for (const [i, bytes] of files.entries()) views.push(await engine.handle(addRequest(bytes, `f${i}.bin`)));
    await engine.whenIdle();
    for (const [i, view] of views.entries()) {
      expect(stateOf(engine, view.id)).toMatchObject({ state: 'done', offset: files[i]!.length });
      expect(await completedSha(kit.server.uploadDir, view.fileId)).toBe(sha256(files[i]!));
    }
    const store = new IdbRecordStore({ factory: kit.factory });
    for (const record of await store.list()) expect(await store.file(record)).toBeUndefined();
    const reopened = kit.engine();
    expect((await reopened.handle({ type: 'list' })).map((v) => v.state)).toEqual(['done', 'done', 'done', 'done']);
  });

  it.each([
    { digest: true, classic: false },
    { digest: false, classic: false },
    { digest: false, classic: true },
  ])('connections cut mid-chunk (digest $digest, a server without GET /progress: $classic): file identical, less than one chunk re-sent per cut', async ({ digest, classic }) => {
    kit = await realServerKit();
    const engine = kit.engine({ digest }, { classic });
    const bytes = makeBytes(3 * MiB, 5);
    const cuts = [400_000, 1_100_000, 1_900_000, 2_600_000];
    kit.proxy.cutAt(cuts);
    const view = await engine.handle(addRequest(bytes, 'cut.bin'));
    await until('done', () => stateOf(engine, view.id)?.state === 'done', 60_000);
    expect(await completedSha(kit.server.uploadDir, view.fileId)).toBe(sha256(bytes));
    const stats = kit.proxy.stats();
    expect(stats.cuts).toBe(cuts.length);
    const resent = stats.bodyBytes - bytes.length;
    expect(resent).toBeGreaterThanOrEqual(0);
    expect(resent).toBeLessThan(cuts.length * TEST_CHUNK);
    // Asked once whether the server streams (the answer is kept), or polled while it streamed.
    const probes = kit.requests.filter((r) => r.includes('/progress')).length;
    if (classic) expect(probes).toBe(1);
    else expect(probes).toBeGreaterThanOrEqual(1);
  });

  it('a new upload begins with its POST at 0; where the server already holds part of that file (sent from another browser), the 409 re-syncs it', async () => {
    kit = await realServerKit();
    const bytes = makeBytes(2 * MiB, 11);
    // Another browser (its own store) sent part of the same file, then stopped.
    const other = kit.engine({ store: new IdbRecordStore({ factory: new IDBFactory() }) });
    kit.proxy.setRate(2 * MiB); // slow enough to pause it halfway
    const first = await other.handle(addRequest(bytes, 'shared.bin'));
    await until('part sent', () => (stateOf(other, first.id)?.offset ?? 0) >= 2 * TEST_CHUNK, 30_000);
    await other.handle({ type: 'pause', uploadId: first.id });
    kit.proxy.setRate(undefined);
    const engine = kit.engine();
    // A first upload teaches this worker that the server streams (GET /progress): a new file of at
    // most 16 MiB then goes at once, unasked (a server not known yet is asked first).
    const warm = await engine.handle(addRequest(makeBytes(1000, 12), 'warm.bin'));
    await until('warm done', () => stateOf(engine, warm.id)?.state === 'done', 30_000);
    const bodyBefore = kit.proxy.stats().bodyBytes;
    const before = kit.requests.length;
    const view = await engine.handle(addRequest(bytes, 'shared.bin'));
    await until('done', () => stateOf(engine, view.id)?.state === 'done', 30_000);
    expect(await completedSha(kit.server.uploadDir, view.fileId)).toBe(sha256(bytes));
    // The POST at 0 was refused with the server's offset and the rest went from there: not the
    // whole file again (the server held at least two chunks of it).
    expect(kit.proxy.stats().bodyBytes - bodyBefore).toBeLessThan(bytes.length);
    expect(kit.requests[before]).toMatch(/^POST /); // asked nothing first
  });

  it.each([{ digest: false }, { digest: true }])(
    'streamed (default chunks, digest $digest): one POST carries the file while GET /progress shows the bytes the server made durable; byte-identical',
    async ({ digest }) => {
      kit = await realServerKit();
      const engine = kit.engine({ chunk: DEFAULT_CHUNK_POLICY, digest });
      const bytes = makeBytes(12 * MiB, 13);
      kit.proxy.setRate(4 * MiB); // three seconds: several polls while the one request runs
      const view = await engine.handle(addRequest(bytes, 'streamed.bin'));
      const partway = (): boolean => {
        const v = stateOf(engine, view.id);
        return v?.state === 'uploading' && v.offset > 0 && v.offset < bytes.length;
      };
      await until('confirmed bytes during the request', partway, 60_000);
      const posts = kit.posts;
      await until('done', () => stateOf(engine, view.id)?.state === 'done', 60_000);
      expect(await completedSha(kit.server.uploadDir, view.fileId)).toBe(sha256(bytes));
      // The body went in one POST; with the digest not ready when it left, a body-less POST carried it.
      expect(posts).toBe(1);
      expect(kit.posts).toBeLessThanOrEqual(digest ? 2 : 1);
      expect(kit.requests.filter((r) => r.includes('/status'))).toEqual([]);
      expect(kit.requests.filter((r) => r.includes('/progress')).length).toBeGreaterThanOrEqual(2);
    },
  );

  // Behind a proxy that buffers request bodies (nginx's default), no confirmed byte moves while a
  // streamed body goes: the file still lands in one POST, and the next one goes in chunks (whose
  // confirmed bytes move with each answer). Through a plain proxy the next file streams too.
  it.each([
    { buffering: false, next: 'streams' },
    { buffering: true, next: 'goes in chunks' },
  ])(
    'streamed, proxy buffering bodies: $buffering; the file lands in one POST, never aborted as stalled; the next $next',
    async ({ buffering }) => {
      // Checkpoints every 2 s: the server shows bytes move while a body streams in at 8 MiB/s, but
      // not while it takes a buffered body flushed at once (it lands in far less than 2 s).
      const dir = await mkdtemp(join(tmpdir(), 'resilient-upload-buffering-'));
      try {
        kit = await realServerKit({ uploadDir: dir, storage: new FileStore({ dir, checkpoint: { bytes: MiB, ms: 2_000, maxBytes: 1024 * MiB } }) });
        const engine = kit.engine({ chunk: DEFAULT_CHUNK_POLICY, digest: false });
        kit.proxy.setBuffering(buffering);
        kit.proxy.setRate(8 * MiB); // about 4 s: several polls while the body goes
        const first = makeBytes(34 * MiB, 21);
        const one = await engine.handle(addRequest(first, 'first.bin'));
        await until('first done', () => stateOf(engine, one.id)?.state === 'done', 120_000);
        expect(await completedSha(dir, one.fileId)).toBe(sha256(first));
        expect(kit.posts).toBe(1); // never aborted as stalled and sent again
        expect(kit.proxy.stats().bodyBytes).toBe(first.length);

        kit.proxy.setRate(undefined);
        const second = makeBytes(34 * MiB, 22);
        const two = await engine.handle(addRequest(second, 'second.bin'));
        await until('second done', () => stateOf(engine, two.id)?.state === 'done', 120_000);
        expect(await completedSha(dir, two.fileId)).toBe(sha256(second));
        if (buffering) expect(kit.posts - 1).toBeGreaterThan(1); // chunks: their confirmed bytes move per answer
        else expect(kit.posts - 1).toBe(1); // still streamed: the polls saw bytes move
      } finally {
        await kit?.close();
        kit = undefined;
        await rm(dir, { recursive: true, force: true });
      }
    },
  );

  it('the proxy goes away mid-upload: waiting with NETWORK, then resumes from the server offset (not from zero)', async () => {
    kit = await realServerKit();
    const engine = kit.engine();
    const bytes = makeBytes(4 * MiB, 7);
    const view = await engine.handle(addRequest(bytes, 'mid.bin'));
    await until('some progress', () => (stateOf(engine, view.id)?.offset ?? 0) >= 2 * TEST_CHUNK, 30_000);
    await kit.proxy.setOffline(true);
    const waiting = await until('waiting', () => stateOf(engine, view.id)?.state === 'waiting' && stateOf(engine, view.id), 30_000);
    expect(waiting.error?.code).toBe('NETWORK');
    expect(waiting.error?.cause?.name).toBeTruthy();
    const before = kit.proxy.stats().bodyBytes;
    await kit.proxy.setOffline(false);
    await engine.handle({ type: 'online' });
    await until('done', () => stateOf(engine, view.id)?.state === 'done', 60_000);
    expect(await completedSha(kit.server.uploadDir, view.fileId)).toBe(sha256(bytes));
    expect(kit.proxy.stats().bodyBytes - before).toBeLessThan(bytes.length);
  });

  it('a file kept as ArrayBuffer chunks (the WebKit fallback) uploads byte-identical', async () => {
    kit = await realServerKit();
    const engine = kit.engine({ store: new IdbRecordStore({ factory: kit.factory, files: 'chunks', chunkBytes: 100_000 }) });
    const bytes = makeBytes(1 * MiB + 3, 11);
    const view = await engine.handle(addRequest(bytes, 'chunks.bin'));
    await engine.whenIdle();
    expect(stateOf(engine, view.id)?.state).toBe('done');
    expect(await completedSha(kit.server.uploadDir, view.fileId)).toBe(sha256(bytes));
  });

  it('a failed write of the done record keeps the file; the next worker sees the server complete and sends nothing', async () => {
    kit = await realServerKit();
    const proto = IDBObjectStore.prototype;
    const realPut = proto.put;
    // As a full disk would: saving the `done` record fails (the book swallows store write errors).
    const spy = vi.spyOn(proto, 'put').mockImplementation(function (this: IDBObjectStore, ...args: Parameters<IDBObjectStore['put']>) {
      if (this.name === UPLOADS_STORE && (args[0] as { state?: string }).state === 'done') {
        throw new DOMException('The quota has been exceeded.', 'QuotaExceededError');
      }
      return realPut.apply(this, args);
    });
    const first = kit.engine();
    const bytes = makeBytes(700_000, 31);
    const view = await first.handle(addRequest(bytes, 'finish.bin'));
    await first.whenIdle();
    expect(stateOf(first, view.id)?.state).toBe('done'); // in memory
    const store = new IdbRecordStore({ factory: kit.factory });
    const [stored] = await store.list();
    expect(stored?.state).toBe('uploading');
    expect(await store.file(stored!)).toBeDefined(); // not deleted
    spy.mockRestore();

    const posts = kit.posts;
    const second = kit.engine();
    await second.start();
    await second.whenIdle();
    expect(stateOf(second, view.id)).toMatchObject({ state: 'done', offset: bytes.length });
    expect(kit.posts).toBe(posts); // nothing sent again
    const [after] = await store.list();
    expect(after?.state).toBe('done');
    expect(await store.file(after!)).toBeUndefined();
    expect(await completedSha(kit.server.uploadDir, view.fileId)).toBe(sha256(bytes));
  });
});
