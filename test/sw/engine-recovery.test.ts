// The engine after storage trouble: a `done` record that was never saved, a Blob that is gone.
import { afterEach, describe, expect, it, vi } from 'vitest';
import { MiB } from '../../sw/chunk-size.js';
import { UPLOADS_STORE } from '../../sw/db.js';
import { IdbUploadStore } from '../../sw/idb-store.js';
import { MemoryUploadStore } from '../../sw/memory-store.js';
import { addRequest, completedSha, makeBytes, sha256, startHarness, viewOf, type Harness } from './harness.js';

let h: Harness | undefined;
afterEach(async () => {
  vi.restoreAllMocks();
  await h?.close();
  h = undefined;
});

describe('engine recovery', () => {
  it('a failed write of the done record keeps the Blob; the next worker sees the server complete', async () => {
    h = await startHarness();
    const proto = IDBObjectStore.prototype;
    const realPut = proto.put;
    // As a full disk would: saving the `done` record fails (the engine swallows store write errors).
    const spy = vi.spyOn(proto, 'put').mockImplementation(function (this: IDBObjectStore, ...args: Parameters<IDBObjectStore['put']>) {
      if (this.name === UPLOADS_STORE && (args[0] as { state?: string }).state === 'done') {
        throw new DOMException('The quota has been exceeded.', 'QuotaExceededError');
      }
      return realPut.apply(this, args);
    });
    const first = h.engine();
    const bytes = makeBytes(700_000, 31);
    const view = await first.handle(addRequest(bytes, 'finish.bin'));
    await first.whenIdle();
    expect(viewOf(first, view.id).state).toBe('done'); // in memory
    const store = new IdbUploadStore({ factory: h.factory });
    expect((await store.get(view.id))?.state).toBe('uploading');
    expect(await (await store.getBlob(view.id))?.arrayBuffer()).toEqual(bytes.buffer); // not deleted
    spy.mockRestore();

    const posts = h.posts;
    const second = h.engine();
    await second.start();
    await second.whenIdle();
    expect(viewOf(second, view.id)).toMatchObject({ state: 'done', offset: bytes.length });
    expect(viewOf(second, view.id).error).toBeUndefined();
    expect(h.posts).toBe(posts); // nothing sent again
    expect(await store.getBlob(view.id)).toBeUndefined();
    expect((await store.get(view.id))?.state).toBe('done');
    expect(await completedSha(h.server.uploadDir, view.fileId)).toBe(sha256(bytes));
  });

  it('a hung server is noticed within a few times the measured chunk time, not at the slowest tolerated rate', async () => {
    h = await startHarness();
    let posts = 0;
    let hung = 0;
    const engine = h.engine({
      // Before any measurement a 256 KiB chunk may take 200 ms + 262 s; once measured, far less.
      timeouts: { baseMs: 200, minBytesPerSecond: 1000 },
      retry: { baseMs: 10, maxMs: 10 },
      fetch: (input, init) => {
        if (init?.method === 'POST' && ++posts === 3) {
          hung++;
          // The server takes the request and never answers.
          return new Promise((_resolve, reject) => init.signal?.addEventListener('abort', () => reject(init.signal?.reason), { once: true }));
        }
        return fetch(input, init);
      },
    });
    const bytes = makeBytes(1 * MiB, 33);
    const started = Date.now();
    const view = await engine.handle(addRequest(bytes, 'hang.bin'));
    await engine.whenIdle();
    expect(hung).toBe(1);
    expect(viewOf(engine, view.id).state).toBe('done');
    expect(Date.now() - started).toBeLessThan(5_000);
    const timedOut = h.events.find((e) => e.type === 'error' && e.upload.id === view.id);
    expect(timedOut?.type === 'error' && timedOut.error.message).toMatch(/timed out/);
    expect(await completedSha(h.server.uploadDir, view.fileId)).toBe(sha256(bytes));
  });

  it('a record without its Blob is done when the server has the file, else failed with STORAGE', async () => {
    h = await startHarness();
    const store = new MemoryUploadStore();
    const first = h.engine({ store });
    const bytes = makeBytes(300_000, 32);
    const view = await first.handle(addRequest(bytes, 'gone.bin'));
    await first.whenIdle();
    const record = await store.get(view.id);
    expect(record?.state).toBe('done');
    // As an older worker left it: the Blob deleted, the `done` record never saved.
    await store.put({ ...record!, state: 'uploading', offset: 0 });
    const lost = { ...record!, id: 'lost', fileId: 'never-uploaded', state: 'queued' as const, offset: 0 };
    await store.add(lost, new Blob([bytes]));
    await store.deleteBlob('lost');

    const second = h.engine({ store });
    await second.start();
    await second.whenIdle();
    expect(viewOf(second, view.id)).toMatchObject({ state: 'done', offset: bytes.length });
    expect(viewOf(second, view.id).error).toBeUndefined();
    expect(viewOf(second, 'lost')).toMatchObject({ state: 'failed', error: { code: 'STORAGE' } });
  });
});
