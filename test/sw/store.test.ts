import 'fake-indexeddb/auto';
import { IDBFactory } from 'fake-indexeddb';
import { describe, expect, it, vi } from 'vitest';
import { UploadError } from '../../src/protocol/index.js';
import { BLOBS_STORE } from '../../sw/db.js';
import { IdbUploadStore } from '../../sw/idb-store.js';
import { MemoryUploadStore } from '../../sw/memory-store.js';
import type { UploadRecord } from '../../sw/record.js';
import type { UploadStore } from '../../sw/store.js';

function record(id: string, patch: Partial<UploadRecord> = {}): UploadRecord {
  return {
    id,
    fileId: `file-${id}`,
    endpoint: 'http://127.0.0.1:1',
    headers: { Authorization: 'Bearer x' },
    metadata: { album: 'a' },
    name: `${id}.bin`,
    type: 'application/octet-stream',
    size: 5,
    lastModified: 1,
    state: 'queued',
    offset: 0,
    attempts: 0,
    createdAt: 1,
    updatedAt: 1,
    ...patch,
  };
}

async function rejection(promise: Promise<unknown>): Promise<UploadError> {
  try {
    await promise;
  } catch (error) {
    expect(error).toBeInstanceOf(UploadError);
    return error as UploadError;
  }
  throw new Error('expected a rejection');
}

// One suite for every backend: a new store is done when this passes on it.
const backends: Array<[string, () => UploadStore]> = [
  ['IdbUploadStore', () => new IdbUploadStore({ factory: new IDBFactory() })],
  ['MemoryUploadStore', () => new MemoryUploadStore()],
];

describe.each(backends)('%s', (_name, create) => {
  it('adds, reads, lists and finds by file id and endpoint', async () => {
    const store = create();
    await store.add(record('a'), new Blob(['hello']));
    await store.add(record('b', { fileId: 'file-a', endpoint: 'http://other' }), new Blob(['world']));
    expect(await store.get('a')).toEqual(record('a'));
    expect((await store.list()).map((r) => r.id).sort()).toEqual(['a', 'b']);
    expect((await store.findByFile('file-a', 'http://127.0.0.1:1')).map((r) => r.id)).toEqual(['a']);
    expect(await (await store.getBlob('a'))?.text()).toBe('hello');
  });

  it('put replaces the record and keeps the Blob', async () => {
    const store = create();
    await store.add(record('a'), new Blob(['hello']));
    await store.put(record('a', { state: 'done', offset: 5 }));
    expect((await store.get('a'))?.state).toBe('done');
    expect(await (await store.getBlob('a'))?.text()).toBe('hello');
  });

  it('deleteBlob keeps the record; delete removes both', async () => {
    const store = create();
    await store.add(record('a'), new Blob(['hello']));
    await store.add(record('b'), new Blob(['world']));
    await store.deleteBlob('a');
    expect(await store.getBlob('a')).toBeUndefined();
    expect(await store.get('a')).toBeDefined();
    await store.delete('b');
    expect(await store.get('b')).toBeUndefined();
    expect(await store.getBlob('b')).toBeUndefined();
  });

  it('finish writes the record and deletes the Blob', async () => {
    const store = create();
    await store.add(record('a'), new Blob(['hello']));
    await store.add(record('b'), new Blob(['world']));
    await store.finish(record('a', { state: 'done', offset: 5 }));
    expect(await store.get('a')).toEqual(record('a', { state: 'done', offset: 5 }));
    expect(await store.getBlob('a')).toBeUndefined();
    expect(await (await store.getBlob('b'))?.text()).toBe('world');
  });

  it('adding an existing id fails and changes nothing', async () => {
    const store = create();
    await store.add(record('a'), new Blob(['hello']));
    const error = await rejection(store.add(record('a', { name: 'other' }), new Blob(['other'])));
    expect(error.code).toBe('STORAGE');
    expect((await store.get('a'))?.name).toBe('a.bin');
    expect(await (await store.getBlob('a'))?.text()).toBe('hello');
  });
});

describe('IdbUploadStore on IndexedDB', () => {
  it('records and Blobs survive closing and reopening the database', async () => {
    const factory = new IDBFactory();
    const bytes = new Uint8Array(300_000).map((_, i) => (i * 7) % 256);
    const first = new IdbUploadStore({ factory });
    await first.add(record('a', { size: bytes.length }), new Blob([bytes], { type: 'image/png' }));
    await first.put(record('a', { size: bytes.length, state: 'paused', offset: 1234 }));
    first.close();

    const second = new IdbUploadStore({ factory });
    expect(await second.get('a')).toEqual(record('a', { size: bytes.length, state: 'paused', offset: 1234 }));
    const blob = await second.getBlob('a');
    expect(blob).toBeInstanceOf(Blob); // a Blob, not an ArrayBuffer copy
    expect(blob?.type).toBe('image/png');
    expect(new Uint8Array(await blob!.arrayBuffer())).toEqual(bytes);
    second.close();
  });

  it('reopens by itself after close', async () => {
    const store = new IdbUploadStore({ factory: new IDBFactory() });
    await store.add(record('a'), new Blob(['x']));
    store.close();
    expect((await store.list()).length).toBe(1);
  });

  it('a quota error while storing the Blob leaves nothing half-written', async () => {
    const factory = new IDBFactory();
    const store = new IdbUploadStore({ factory });
    await store.add(record('old'), new Blob(['kept']));
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
    const reopened = new IdbUploadStore({ factory });
    expect((await reopened.list()).map((r) => r.id)).toEqual(['old']);
    expect(await reopened.getBlob('new')).toBeUndefined();
    expect(await (await reopened.getBlob('old'))?.text()).toBe('kept');
  });

  it('a quota error reported by the transaction (abort) leaves nothing either', async () => {
    const factory = new IDBFactory();
    const store = new IdbUploadStore({ factory });
    const proto = IDBObjectStore.prototype;
    const realPut = proto.put;
    const spy = vi.spyOn(proto, 'put').mockImplementation(function (this: IDBObjectStore, ...args: Parameters<IDBObjectStore['put']>) {
      const request = realPut.apply(this, args);
      // The browser's way: the write is accepted, then the transaction aborts with QuotaExceededError.
      if (this.name === BLOBS_STORE) {
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
    expect(await store.getBlob('new')).toBeUndefined();
  });
});

describe('IdbUploadStore finish', () => {
  it('a failed record write leaves the Blob and the old record (one transaction)', async () => {
    const factory = new IDBFactory();
    const store = new IdbUploadStore({ factory });
    await store.add(record('a', { state: 'uploading' }), new Blob(['hello']));
    const proto = IDBObjectStore.prototype;
    const realPut = proto.put;
    const spy = vi.spyOn(proto, 'put').mockImplementation(function (this: IDBObjectStore, ...args: Parameters<IDBObjectStore['put']>) {
      if (this.name !== BLOBS_STORE) throw new DOMException('disk full', 'QuotaExceededError');
      return realPut.apply(this, args);
    });
    try {
      await rejection(store.finish(record('a', { state: 'done', offset: 5 })));
    } finally {
      spy.mockRestore();
    }
    store.close();
    const reopened = new IdbUploadStore({ factory });
    expect((await reopened.get('a'))?.state).toBe('uploading');
    expect(await (await reopened.getBlob('a'))?.text()).toBe('hello');
  });
});

describe('MemoryUploadStore quota', () => {
  it('rejects past its quota with QUOTA_EXCEEDED and stores nothing', async () => {
    const store = new MemoryUploadStore({ quotaBytes: 4 });
    const error = await rejection(store.add(record('a'), new Blob(['hello'])));
    expect(error.code).toBe('QUOTA_EXCEEDED');
    expect(await store.list()).toEqual([]);
  });
});
