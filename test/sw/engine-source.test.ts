// Which bytes a request carries: a whole-file request the page's File while the worker knows it,
// anything else the stored copy; once a run with the page's File failed, only the stored copy.
import { describe, expect, it } from 'vitest';
import { UploadError, type UploadView } from '../../src/protocol/index.js';
import type { UploadRecord } from '../../sw/record.js';
import { MemoryRecordStore } from '../../sw/memory-record-store.js';
import { blobFile, wholeFrom } from '../../sw/stored-file.js';
import { settle } from './kit/fake-clock.js';
import { at } from './kit/scripted-transport.js';
import { engineKit } from './kit/engine-kit.js';

const KiB = 1024;
const fixedChunks = { initialBytes: 64 * KiB, minBytes: 64 * KiB, maxBytes: 64 * KiB, maxBytesWithoutDigest: 64 * KiB, granularity: 64 * KiB };

/** Keeps a copy of each file, as IndexedDB does (what it hands back is never the page's Blob), and counts its reads. */
class CopyingStore extends MemoryRecordStore {
  reads = 0;
  override add(record: UploadRecord, file: Blob): Promise<UploadRecord> {
    return super.add(record, new Blob([file]));
  }
  override file(record: UploadRecord): ReturnType<MemoryRecordStore['file']> {
    this.reads += 1;
    return super.file(record);
  }
}

describe('stored files', () => {
  it('the whole of a stored Blob is the Blob itself, any other range a slice of it', async () => {
    const blob = new Blob(['hello world']);
    const file = blobFile(blob);
    expect(await file.slice(0, 11)).toBe(blob);
    const part = await file.slice(0, 5);
    expect(part).not.toBe(blob);
    expect(await part.text()).toBe('hello');
    expect(await (await file.slice(6, 11)).text()).toBe('world');
  });

  it('wholeFrom: the whole file is the picked Blob, without reading the copy; a part comes from the copy, read once; a copy gone is STORAGE', async () => {
    const picked = new Blob(['hello world']);
    let reads = 0;
    const file = wholeFrom(picked, async () => {
      reads += 1;
      return blobFile(new Blob(['hello world']));
    });
    expect(await file.slice(0, 11)).toBe(picked);
    expect(await file.slice(0, 12)).toBe(picked);
    expect(reads).toBe(0);
    const part = await file.slice(1, 11);
    expect(part).not.toBe(picked);
    expect(await part.text()).toBe('ello world');
    expect(await (await file.slice(0, 5)).text()).toBe('hello');
    expect(reads).toBe(1);
    const gone = wholeFrom(picked, async () => undefined);
    expect(await gone.slice(0, 11)).toBe(picked);
    const error = await gone.slice(0, 5).catch((e: unknown) => e);
    expect((error as UploadError).code).toBe('STORAGE');
  });
});

describe('the bytes a request carries', () => {
  /** A second upload, added and stored while the first holds the only slot, then given the slot. */
  async function storedThenStarted(bytes: Uint8Array<ArrayBuffer>) {
    const kit = engineKit({ store: new CopyingStore(), chunk: fixedChunks, concurrency: 1 });
    await kit.add(10 * KiB, 'first.bin');
    const held = await kit.transport.next();
    const page = new File([bytes], 'second.bin');
    const view: UploadView = await kit.engine.handle({ type: 'add', file: page, name: 'second.bin', lastModified: 1, options: { headers: {} } });
    expect(await kit.store.file((await kit.store.list()).find((r) => r.id === view.id)!)).toBeDefined(); // stored: no longer read from the page's File for that
    (kit.store as CopyingStore).reads = 0;
    held.respond(at(0));
    (await kit.transport.next()).respond(at(10 * KiB, true));
    const status = await kit.transport.next();
    expect(status.upload.id).toBe(view.id);
    status.respond(at(0));
    return { kit, page, view };
  }

  it('a whole-file request of a stored upload carries the File the page added, not the stored copy, which is not even read', async () => {
    const bytes = new Uint8Array(64 * KiB).map((_, i) => (i * 7) & 255);
    const { kit, page, view } = await storedThenStarted(bytes);
    const append = await kit.transport.next();
    expect((kit.store as CopyingStore).reads).toBe(0);
    expect(append.chunk!.start).toBe(0);
    expect(append.chunk!.body.size).toBe(64 * KiB);
    expect(append.chunk!.body).toBe(page);
    append.respond(at(64 * KiB, true));
    await settle();
    expect(kit.view(view.id).state).toBe('done');
  });

  it('a request for part of the file carries the stored copy’s bytes', async () => {
    const bytes = new Uint8Array(100 * KiB).map((_, i) => (i * 3) & 255);
    const { kit, page } = await storedThenStarted(bytes);
    const append = await kit.transport.next();
    expect(append.chunk!.start).toBe(0);
    expect(append.chunk!.body.size).toBe(64 * KiB);
    expect(append.chunk!.body).not.toBe(page);
    expect(new Uint8Array(await append.chunk!.body.arrayBuffer())).toEqual(bytes.subarray(0, 64 * KiB));
    expect((kit.store as CopyingStore).reads).toBe(1);
  });

  it('once a run with the page’s File failed (the file may have changed on disk), the retry carries the stored copy', async () => {
    const bytes = new Uint8Array(64 * KiB).map((_, i) => (i * 11) & 255);
    const { kit, page, view } = await storedThenStarted(bytes);
    let call = await kit.transport.next();
    expect(call.chunk!.body).toBe(page);
    call.respond({ kind: 'failed', error: new UploadError('NETWORK', 'XMLHttpRequest failed: the file could not be read') });
    await settle();
    expect(kit.view(view.id).state).toBe('waiting');
    await kit.clock.until(() => kit.view(view.id).state === 'uploading', 60_000);
    (await kit.transport.next()).respond(at(0));
    call = await kit.transport.next();
    expect(call.chunk!.start).toBe(0);
    expect(call.chunk!.body).not.toBe(page);
    expect(new Uint8Array(await call.chunk!.body.arrayBuffer())).toEqual(bytes);
    call.respond(at(64 * KiB, true));
    await settle();
    expect(kit.view(view.id).state).toBe('done');
  });
});
