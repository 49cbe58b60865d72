import 'fake-indexeddb/auto';
import { IDBFactory } from 'fake-indexeddb';
import { describe, expect, it, vi } from 'vitest';
import { BLOBS_STORE, CHUNKS_STORE, UPLOADS_STORE, openUploadDb } from '../../sw/db.js';
import { IdbRecordStore } from '../../sw/idb-record-store.js';
import { MemoryRecordStore } from '../../sw/memory-record-store.js';
import { record, recordStoreContract, rejection } from './record-store-contract.js';

describe('IdbRecordStore, files as Blobs', () => recordStoreContract(() => new IdbRecordStore({ factory: new IDBFactory() })));
// Small chunks, so the suite's files span several and slices cross their boundaries.
describe('IdbRecordStore, files as ArrayBuffer chunks (the WebKit fallback)', () =>
  recordStoreContract(() => new IdbRecordStore({ factory: new IDBFactory(), files: 'chunks', chunkBytes: 65_536 })));
describe('MemoryRecordStore', () => recordStoreContract(() => new MemoryRecordStore()));

/** Something that is not a Blob to IndexedDB (a clone error, as WebKit's "Error preparing Blob/File data"). */
function unstorableBlob(bytes: Uint8Array<ArrayBuffer>): Blob {
  const real = new Blob([bytes]);
  return { size: real.size, type: '', slice: (a?: number, b?: number) => real.slice(a, b), notCloneable: () => undefined } as unknown as Blob;
}

describe('IdbRecordStore on IndexedDB', () => {
  it('records and Blobs survive closing and reopening the database', async () => {
    const factory = new IDBFactory();
    const bytes = new Uint8Array(300_000).map((_, i) => (i * 7) % 256);
    const first = new IdbRecordStore({ factory });
    const stored = await first.add(record('a', { size: bytes.length }), new Blob([bytes], { type: 'image/png' }));
    await first.put({ ...stored, state: 'paused', offset: 1234 });
    first.close();

    const second = new IdbRecordStore({ factory });
    const [again] = await second.list();
    expect(again).toMatchObject({ id: 'a', state: 'paused', offset: 1234, storage: { kind: 'blob' } });
    const db = await openUploadDb(factory);
    const blob = await db.get(BLOBS_STORE, 'a');
    db.close();
    expect(blob).toBeInstanceOf(Blob); // a Blob, not an ArrayBuffer copy
    expect(blob?.type).toBe('image/png');
    expect(new Uint8Array(await (await (await second.file(again!))!.slice(0, bytes.length)).arrayBuffer())).toEqual(bytes);
    second.close();
  });

  it('falls back to ArrayBuffer chunks when the engine cannot store the Blob, and reads them back', async () => {
    const factory = new IDBFactory();
    const store = new IdbRecordStore({ factory, chunkBytes: 100_000 });
    const bytes = new Uint8Array(250_000).map((_, i) => (i * 11) % 256);
    const stored = await store.add(record('a', { size: bytes.length }), unstorableBlob(bytes));
    expect(stored.storage).toEqual({ kind: 'chunks', chunkBytes: 100_000, count: 3 });
    const db = await openUploadDb(factory);
    expect(await db.count(BLOBS_STORE)).toBe(0);
    expect(await db.count(CHUNKS_STORE)).toBe(3);
    db.close();
    const file = (await store.file(stored))!;
    expect(new Uint8Array(await (await file.slice(99_999, 200_001)).arrayBuffer())).toEqual(bytes.subarray(99_999, 200_001));
  });

  it('a failure half way through storing chunks leaves nothing (rolled back)', async () => {
    const factory = new IDBFactory();
    const store = new IdbRecordStore({ factory, files: 'chunks', chunkBytes: 10 });
    const proto = IDBObjectStore.prototype;
    const realPut = proto.put;
    let puts = 0;
    const spy = vi.spyOn(proto, 'put').mockImplementation(function (this: IDBObjectStore, ...args: Parameters<IDBObjectStore['put']>) {
      if (this.name === CHUNKS_STORE && ++puts === 3) throw new DOMException('disk full', 'QuotaExceededError');
      return realPut.apply(this, args);
    });
    try {
      const error = await rejection(store.add(record('a', { size: 45 }), new Blob([new Uint8Array(45)])));
      expect(error.code).toBe('QUOTA_EXCEEDED');
    } finally {
      spy.mockRestore();
    }
    const db = await openUploadDb(factory);
    expect([await db.count(UPLOADS_STORE), await db.count(CHUNKS_STORE)]).toEqual([0, 0]);
    db.close();
  });

  it('repair removes chunks a crash left without their record', async () => {
    const factory = new IDBFactory();
    const db = await openUploadDb(factory);
    await db.put(CHUNKS_STORE, new ArrayBuffer(8), ['ghost', 0]);
    await db.put(CHUNKS_STORE, new ArrayBuffer(8), ['ghost', 1]);
    db.close();
    const store = new IdbRecordStore({ factory });
    const kept = await store.add(record('a'), new Blob(['hello']));
    expect(await store.repair()).toBe(1);
    const check = await openUploadDb(factory);
    expect(await check.count(CHUNKS_STORE)).toBe(0);
    check.close();
    expect(await (await (await store.file(kept))!.slice(0, 5)).text()).toBe('hello');
  });

  it('reopens by itself after close', async () => {
    const store = new IdbRecordStore({ factory: new IDBFactory() });
    await store.add(record('a'), new Blob(['x']));
    store.close();
    expect((await store.list()).length).toBe(1);
  });

  it('a quota error while storing the Blob leaves nothing half-written, and is not retried as chunks', async () => {
    const factory = new IDBFactory();
    const store = new IdbRecordStore({ factory });
    const old = await store.add(record('old'), new Blob(['kept']));
    const proto = IDBObjectStore.prototype;
    const realPut = proto.put;
    const spy = vi.spyOn(proto, 'put').mockImplementation(function (this: IDBObjectStore, ...args: Parameters<IDBObjectStore['put']>) {
      // As a full disk would: the Blob write fails inside the transaction, after the record write.
      if (this.name === BLOBS_STORE) throw new DOMException('The quota has been exceeded.', 'QuotaExceededError');
      return realPut.apply(this, args);
    });
    try {
      const error = await rejection(store.add(record('new'), new Blob(['big'])));
      expect(error.code).toBe('QUOTA_EXCEEDED');
    } finally {
      spy.mockRestore();
    }
    store.close();
    const reopened = new IdbRecordStore({ factory });
    expect((await reopened.list()).map((r) => r.id)).toEqual(['old']);
    const db = await openUploadDb(factory);
    expect([await db.count(BLOBS_STORE), await db.count(CHUNKS_STORE)]).toEqual([1, 0]);
    db.close();
    expect(await (await (await reopened.file(old))!.slice(0, 4)).text()).toBe('kept');
  });

  it('a quota error reported by the transaction (abort) leaves nothing either', async () => {
    const factory = new IDBFactory();
    const store = new IdbRecordStore({ factory });
    const proto = IDBObjectStore.prototype;
    const realPut = proto.put;
    const spy = vi.spyOn(proto, 'put').mockImplementation(function (this: IDBObjectStore, ...args: Parameters<IDBObjectStore['put']>) {
      const request = realPut.apply(this, args);
      // The browser's way: the write is accepted, then the transaction aborts with QuotaExceededError.
      if (this.name === BLOBS_STORE || this.name === CHUNKS_STORE) {
        const tx = this.transaction;
        request.addEventListener('success', () => {
          Object.defineProperty(tx, 'error', { value: new DOMException('quota', 'QuotaExceededError') });
          tx.abort();
        });
      }
      return request;
    });
    try {
      const error = await rejection(store.add(record('new'), new Blob(['big'])));
      expect(['QUOTA_EXCEEDED', 'STORAGE']).toContain(error.code);
    } finally {
      spy.mockRestore();
    }
    expect(await store.list()).toEqual([]);
    const db = await openUploadDb(factory);
    expect([await db.count(BLOBS_STORE), await db.count(CHUNKS_STORE)]).toEqual([0, 0]);
    db.close();
  });

  it('finish: a failed record write leaves the file and the old record (one transaction)', async () => {
    const factory = new IDBFactory();
    const store = new IdbRecordStore({ factory });
    const a = await store.add(record('a', { state: 'uploading' }), new Blob(['hello']));
    const proto = IDBObjectStore.prototype;
    const realPut = proto.put;
    const spy = vi.spyOn(proto, 'put').mockImplementation(function (this: IDBObjectStore, ...args: Parameters<IDBObjectStore['put']>) {
      if (this.name === UPLOADS_STORE) throw new DOMException('disk full', 'QuotaExceededError');
      return realPut.apply(this, args);
    });
    try {
      await rejection(store.finish({ ...a, state: 'done', offset: 5 }));
    } finally {
      spy.mockRestore();
    }
    store.close();
    const reopened = new IdbRecordStore({ factory });
    expect((await reopened.list())[0]?.state).toBe('uploading');
    expect(await (await (await reopened.file(a))!.slice(0, 5)).text()).toBe('hello');
  });

  it('upgrades a version-1 database: records and Blobs kept, the chunk store added', async () => {
    const factory = new IDBFactory();
    await new Promise<void>((resolve, reject) => {
      const open = factory.open('resilient-upload', 1);
      open.onupgradeneeded = () => {
        const uploads = open.result.createObjectStore(UPLOADS_STORE, { keyPath: 'id' });
        uploads.createIndex('by-file', ['fileId', 'endpoint']);
        open.result.createObjectStore(BLOBS_STORE);
        uploads.put(record('old'));
        open.transaction!.objectStore(BLOBS_STORE).put(new Blob(['v1 file']), 'old');
      };
      open.onsuccess = () => {
        open.result.close();
        resolve();
      };
      open.onerror = () => reject(open.error);
    });
    const store = new IdbRecordStore({ factory });
    const [old] = await store.list();
    expect(old?.storage).toBeUndefined(); // written before the field existed: a Blob
    expect(await (await (await store.file(old!))!.slice(0, 7)).text()).toBe('v1 file');
    expect((await store.add(record('new'), new Blob(['x']))).storage).toEqual({ kind: 'blob' });
  });
});

describe('MemoryRecordStore quota', () => {
  it('rejects past its quota with QUOTA_EXCEEDED and stores nothing', async () => {
    const store = new MemoryRecordStore({ quotaBytes: 4 });
    const error = await rejection(store.add(record('a'), new Blob(['hello'])));
    expect(error.code).toBe('QUOTA_EXCEEDED');
    expect(await store.list()).toEqual([]);
  });
});
