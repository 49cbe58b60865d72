// The contract every RecordStore passes (IndexedDB in both file modes, memory): a new store is
// done when this suite passes on it. Mirrors test/server/storage-contract.ts on the server side.
import { expect, it } from 'vitest';
import { UploadError } from '../../src/protocol/index.js';
import type { UploadRecord } from '../../sw/record.js';
import type { RecordStore } from '../../sw/record-store.js';

export function record(id: string, patch: Partial<UploadRecord> = {}): UploadRecord {
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

export async function rejection(promise: Promise<unknown>): Promise<UploadError> {
  try {
    await promise;
  } catch (error) {
    expect(error).toBeInstanceOf(UploadError);
    return error as UploadError;
  }
  throw new Error('expected a rejection');
}

/** Without the `storage` field, which says how a store chose to keep the file. */
function plain(r: UploadRecord | undefined): Omit<UploadRecord, 'storage'> | undefined {
  if (r === undefined) return undefined;
  const { storage: _storage, ...rest } = r;
  return rest;
}

async function text(store: RecordStore, r: UploadRecord, start = 0, end = r.size): Promise<string | undefined> {
  const file = await store.file(r);
  return file === undefined ? undefined : (await file.slice(start, end)).text();
}

export function recordStoreContract(create: () => RecordStore): void {
  it('adds and lists; the stored record says how the file is kept', async () => {
    const store = create();
    const a = await store.add(record('a'), new Blob(['hello']));
    await store.add(record('b', { fileId: 'file-a', endpoint: 'http://other' }), new Blob(['world']));
    expect(plain(a)).toEqual(record('a'));
    expect(a.storage?.kind).toMatch(/^(blob|chunks)$/);
    expect((await store.list()).map((r) => r.id).sort()).toEqual(['a', 'b']);
    expect(await text(store, a)).toBe('hello');
  });

  it('slices any byte range of the stored file, also across chunk boundaries', async () => {
    const store = create();
    const bytes = new Uint8Array(300_001).map((_, i) => (i * 13 + (i >> 8)) & 255);
    const r = await store.add(record('a', { size: bytes.length }), new Blob([bytes]));
    const file = (await store.file(r))!;
    expect(file.size).toBe(bytes.length);
    for (const [start, end] of [
      [0, bytes.length],
      [0, 1],
      [65_535, 65_537],
      [131_071, 262_145],
      [bytes.length - 1, bytes.length],
      [7, 7],
    ] as const) {
      expect(new Uint8Array(await (await file.slice(start, end)).arrayBuffer())).toEqual(bytes.subarray(start, end));
    }
  });

  it('keeps an empty file', async () => {
    const store = create();
    const r = await store.add(record('e', { size: 0 }), new Blob([]));
    expect((await store.file(r))?.size).toBe(0);
    expect(await text(store, r)).toBe('');
  });

  it('put replaces the record and keeps the file', async () => {
    const store = create();
    const a = await store.add(record('a'), new Blob(['hello']));
    await store.put({ ...a, state: 'done', offset: 5 });
    expect((await store.list())[0]?.state).toBe('done');
    expect(await text(store, a)).toBe('hello');
  });

  it('dropFile keeps the record; delete removes both', async () => {
    const store = create();
    const a = await store.add(record('a'), new Blob(['hello']));
    const b = await store.add(record('b'), new Blob(['world']));
    await store.dropFile('a');
    expect(await store.file(a)).toBeUndefined();
    expect((await store.list()).map((r) => r.id).sort()).toEqual(['a', 'b']);
    await store.delete('b');
    expect((await store.list()).map((r) => r.id)).toEqual(['a']);
    expect(await store.file(b)).toBeUndefined();
  });

  it('finish writes the record and drops the file', async () => {
    const store = create();
    const a = await store.add(record('a'), new Blob(['hello']));
    const b = await store.add(record('b'), new Blob(['world']));
    await store.finish({ ...a, state: 'done', offset: 5 });
    expect(plain((await store.list()).find((r) => r.id === 'a'))).toEqual(record('a', { state: 'done', offset: 5 }));
    expect(await store.file(a)).toBeUndefined();
    expect(await text(store, b)).toBe('world');
  });

  it('adding an existing id fails and changes nothing', async () => {
    const store = create();
    const a = await store.add(record('a'), new Blob(['hello']));
    const error = await rejection(store.add(record('a', { name: 'other' }), new Blob(['other'])));
    expect(error.code).toBe('STORAGE');
    expect((await store.list()).map((r) => r.name)).toEqual(['a.bin']);
    expect(await text(store, a)).toBe('hello');
  });

  it('repair leaves intact uploads alone', async () => {
    const store = create();
    const a = await store.add(record('a'), new Blob(['hello']));
    expect(await store.repair()).toBe(0);
    expect(await text(store, a)).toBe('hello');
  });
}
