// Adding a file: the upload starts from the page's File while the worker stores it, the page hears
// back only once it is stored, and a store that fails leaves nothing behind anywhere.
import { describe, expect, it } from 'vitest';
import { UploadError, type UploadView } from '../../src/protocol/index.js';
import { storageError } from '../../sw/record-store.js';
import { settle } from './kit/fake-clock.js';
import { at } from './kit/scripted-transport.js';
import { engineKit } from './kit/engine-kit.js';
import { HeldStore } from './kit/held-store.js';
import type { UploadRecord } from '../../sw/record.js';

const KiB = 1024;
const MiB = 1024 * KiB;
const fixedChunks = { initialBytes: 64 * KiB, minBytes: 64 * KiB, maxBytes: 64 * KiB, maxBytesWithoutDigest: 64 * KiB, granularity: 64 * KiB };

/** A 10 KiB file added and uploaded to the end while its store is still held. */
async function finishedWhileStoring(kit: ReturnType<typeof engineKit>) {
  const started = startAdd(kit, new Uint8Array(10 * KiB));
  (await kit.transport.next()).respond(at(0));
  (await kit.transport.next()).respond(at(10 * KiB, true));
  await settle();
  expect(kit.events().some((e) => e.type === 'complete')).toBe(true);
  return started;
}

/** One file added twice, the second while the first is still being stored (held). */
async function sameFileTwice() {
  const store = new HeldStore();
  const kit = engineKit({ store, chunk: fixedChunks });
  const bytes = new Uint8Array(10 * KiB);
  const first = startAdd(kit, bytes);
  const second = startAdd(kit, bytes);
  await settle();
  return { store, kit, first, second };
}

function startAdd(kit: ReturnType<typeof engineKit>, bytes: Uint8Array<ArrayBuffer>, name = 'a.bin') {
  const result = { settled: false, view: undefined as UploadView | undefined, error: undefined as unknown };
  const done = kit.engine.handle({ type: 'add', file: new File([bytes], name), name, lastModified: 1, options: { headers: {} } }).then(
    (view) => Object.assign(result, { settled: true, view }),
    (error: unknown) => Object.assign(result, { settled: true, error }),
  );
  return { result, done };
}

describe('adding a file', () => {
  it('sends from the page’s File while the file is being stored; add answers once it is stored; nothing is written before', async () => {
    const store = new HeldStore();
    const kit = engineKit({ store, chunk: fixedChunks });
    const bytes = new Uint8Array(150 * KiB).map((_, i) => (i * 5) & 255);
    const { result, done } = startAdd(kit, bytes);
    let call = await kit.transport.next();
    expect(call.kind).toBe('status');
    call.respond(at(0));
    call = await kit.transport.next();
    expect(call.kind).toBe('append');
    expect(new Uint8Array(await call.chunk!.body.arrayBuffer())).toEqual(bytes.subarray(0, 64 * KiB));
    call.respond(at(64 * KiB));
    call = await kit.transport.next(); // the second chunk is on its way: still not stored
    await settle();
    expect(result.settled).toBe(false);
    expect(await store.list()).toEqual([]); // no progress written ahead of the record and its file
    expect(kit.events().some((e) => e.type === 'state' && e.upload.state === 'uploading')).toBe(true);

    store.finishAdd();
    await done;
    expect(result.view).toMatchObject({ state: 'uploading', offset: 64 * KiB });
    await settle();
    const [stored] = await store.list();
    expect(stored).toMatchObject({ state: 'uploading', offset: 64 * KiB, storage: { kind: 'blob' } });
    expect(await store.file(stored!)).toBeDefined();

    call.respond(at(128 * KiB));
    call = await kit.transport.next();
    call.respond(at(150 * KiB, true));
    await settle();
    expect(kit.view(result.view!.id).state).toBe('done');
    expect(await store.file((await store.list())[0]!)).toBeUndefined(); // dropped once done
  });

  it('storing fails after sending began: add rejects with the store’s error, the upload is forgotten and its request stops; no DELETE (the server may hold others’ bytes of this file id)', async () => {
    const store = new HeldStore();
    const kit = engineKit({ store, chunk: fixedChunks });
    const { result, done } = startAdd(kit, new Uint8Array(150 * KiB));
    (await kit.transport.next()).respond(at(0));
    const append = await kit.transport.next();
    expect(append.kind).toBe('append');

    store.finishAdd(storageError(new DOMException('The quota has been exceeded.', 'QuotaExceededError'), 'store the file'));
    await done;
    expect(await append.answered).toEqual({ kind: 'aborted' });
    expect(result.error).toBeInstanceOf(UploadError);
    expect((result.error as UploadError).code).toBe('QUOTA_EXCEEDED');
    await settle();
    expect(kit.engine.views()).toEqual([]);
    expect(kit.events().at(-1)).toEqual({ type: 'removed', uploadId: append.upload.id });
    expect(await store.list()).toEqual([]);
    expect(kit.transport.calls.map((c) => c.kind)).toEqual(['status', 'append']);
  });

  it('a small file finishes before its store fails: add answers with the finished upload, its record is kept, nothing is deleted', async () => {
    const store = new HeldStore();
    const kit = engineKit({ store, chunk: fixedChunks });
    const { result, done } = await finishedWhileStoring(kit);
    store.finishAdd(storageError(new Error('disk gone'), 'store the file'));
    await done;
    expect(result.error).toBeUndefined();
    expect(result.view).toMatchObject({ state: 'done', offset: 10 * KiB });
    await settle();
    expect(await store.list()).toMatchObject([{ id: result.view!.id, state: 'done' }]);
    expect(kit.events().some((e) => e.type === 'removed')).toBe(false);
    expect(kit.transport.calls.map((c) => c.kind)).toEqual(['status', 'append']);
  });

  it('clearing completed uploads skips one whose add is still storing; once stored, add answers with it done and it can be cleared', async () => {
    const store = new HeldStore();
    const kit = engineKit({ store, chunk: fixedChunks });
    const { result, done } = await finishedWhileStoring(kit);
    const cleared = kit.engine.handle({ type: 'clear-completed' });
    store.finishAdd();
    expect(await cleared).toBe(0);
    await done;
    expect(result.view).toMatchObject({ state: 'done' });
    expect(await kit.engine.handle({ type: 'clear-completed' })).toBe(1);
    expect(kit.engine.views()).toEqual([]);
  });

  it('storing fails while the upload waits for a slot: add rejects and no request is made for it', async () => {
    const store = new HeldStore();
    const kit = engineKit({ store, chunk: fixedChunks, concurrency: 1 });
    store.hold = false;
    const first = await kit.add(new Uint8Array(10 * KiB), 'first.bin');
    const status = await kit.transport.next(); // left unanswered: the first upload keeps the only slot
    store.hold = true;
    const { result, done } = startAdd(kit, new Uint8Array(10 * KiB));
    await settle();
    expect(kit.engine.views().map((v) => v.state)).toEqual(['uploading', 'queued']);
    store.finishAdd(storageError(new Error('disk gone'), 'store the file'));
    await done;
    expect((result.error as UploadError).code).toBe('STORAGE');
    await settle();
    expect(kit.engine.views().map((v) => v.id)).toEqual([first.id]);
    expect(kit.transport.calls).toEqual([status]);
    expect((await store.list()).map((r) => r.id)).toEqual([first.id]);
  });

  it('adds are taken in while earlier files are still being stored: every upload is known at once, each add answers when its own file is stored', async () => {
    const store = new HeldStore();
    const kit = engineKit({ store, chunk: fixedChunks, concurrency: 3 });
    const adds = ['a', 'b', 'c'].map((name) => startAdd(kit, new Uint8Array(10 * KiB).fill(name.charCodeAt(0)), `${name}.bin`));
    await settle();
    // None is stored yet, and all three are known and uploading from the page's Files.
    expect(kit.engine.views().map((v) => [v.name, v.state])).toEqual([
      ['a.bin', 'uploading'],
      ['b.bin', 'uploading'],
      ['c.bin', 'uploading'],
    ]);
    expect(kit.transport.calls.map((c) => c.kind)).toEqual(['status', 'status', 'status']);
    expect(adds.some((a) => a.result.settled)).toBe(false);

    store.finishAdd();
    await adds[0]!.done;
    await settle();
    expect(adds.map((a) => a.result.settled)).toEqual([true, false, false]);
    store.finishAdd(); // the stores run one after another, in the write queue
    await adds[1]!.done;
    await settle();
    store.finishAdd();
    await adds[2]!.done;
    expect(adds.map((a) => a.result.view?.name)).toEqual(['a.bin', 'b.bin', 'c.bin']);
    expect((await store.list()).map((r) => r.name).sort()).toEqual(['a.bin', 'b.bin', 'c.bin']);
  });

  it('the same file added again while it is still being stored is the same upload; both adds answer once it is stored', async () => {
    const { store, kit, first, second } = await sameFileTwice();
    expect(kit.engine.views()).toHaveLength(1);
    expect(second.result.settled).toBe(false);
    store.finishAdd();
    await Promise.all([first.done, second.done]);
    expect(second.result.view?.id).toBe(first.result.view?.id);
    expect(await store.list()).toHaveLength(1);
  });

  it('the same file added again while its store fails: both adds reject with the store’s error', async () => {
    const { store, kit, first, second } = await sameFileTwice();
    store.finishAdd(storageError(new Error('disk gone'), 'store the file'));
    await Promise.all([first.done, second.done]);
    expect((first.result.error as UploadError).code).toBe('STORAGE');
    expect(second.result.error).toBe(first.result.error);
    expect(kit.engine.views()).toEqual([]);
  });

  it('the quota check counts the files still being stored: a file that fits alone but not beside them is refused at once', async () => {
    const store = new HeldStore();
    const kit = engineKit({ store, chunk: fixedChunks });
    kit.scope.storage.quota = 10 * MiB; // the margin kept free is 1 MiB
    const big = startAdd(kit, new Uint8Array(5 * MiB), 'big.bin');
    const other = startAdd(kit, new Uint8Array(5 * MiB).fill(1), 'other.bin');
    await other.done;
    expect((other.result.error as UploadError).code).toBe('QUOTA_EXCEEDED');
    expect((other.result.error as UploadError).message).toBe(`The file needs ${5 * MiB} bytes, beside ${5 * MiB} bytes of files still being stored, but only ${10 * MiB} are free for this site`);
    expect(big.result.settled).toBe(false);
    store.finishAdd();
    await big.done;
    expect(big.result.view?.name).toBe('big.bin');
  });

  it('cancel while another file is being stored: the DELETE goes out and the cancel answers without waiting for that store; the same file added again sends nothing before the DELETE is answered', async () => {
    const store = new HeldStore();
    store.hold = false;
    const kit = engineKit({ store, chunk: fixedChunks, concurrency: 3 });
    const bytes = new Uint8Array(100 * KiB).fill(7);
    const x = await kit.add(bytes, 'x.bin');
    const first = await kit.transport.next(); // x's request, left open
    store.hold = true;
    const y = startAdd(kit, new Uint8Array(10 * KiB), 'y.bin'); // its store held: the write queue waits on it
    await settle();

    const cancelling = kit.engine.handle({ type: 'cancel', uploadId: x.id });
    let del = await kit.transport.next();
    while (del.kind !== 'cancel') del = await kit.transport.next(); // y's own requests may come first
    expect(del.upload.id).toBe(x.id);
    expect(first.ctx.signal.aborted).toBe(true);
    const again = startAdd(kit, bytes, 'x.bin');
    const other = startAdd(kit, new Uint8Array(10 * KiB).fill(3), 'z.bin');
    await settle();
    // The new upload of x is known, and so is z (its add did not wait), but x sends nothing yet.
    const readded = kit.engine.views().find((v) => v.name === 'x.bin' && v.state !== 'cancelled');
    expect(readded?.state).toBe('queued');
    expect(kit.engine.views().some((v) => v.name === 'z.bin')).toBe(true);
    expect(kit.transport.calls.filter((c) => c.upload.name === 'x.bin').map((c) => c.kind)).toEqual(['status', 'cancel']);

    del.respond({ kind: 'offset', offset: 0, complete: false });
    expect((await cancelling).state).toBe('cancelled');
    expect(y.result.settled).toBe(false); // the cancel did not wait for y's store
    await settle();
    expect(kit.transport.calls.filter((c) => c.upload.id === readded!.id).length).toBeGreaterThan(0); // only now
    store.hold = false;
    store.finishAdd();
    await Promise.all([y.done, again.done, other.done]);
    expect(again.result.view?.id).toBe(readded!.id);
  });

  it('a cancel asks the server to drop its bytes only once the store says cancelled, without waiting for another file’s store', async () => {
    // Its puts of `cancelled` wait for the test, as a busy IndexedDB would make them.
    class SlowCancelStore extends HeldStore {
      readonly puts: Array<() => void> = [];
      override async put(record: UploadRecord): Promise<void> {
        if (record.state === 'cancelled') await new Promise<void>((resolve) => this.puts.push(resolve));
        return super.put(record);
      }
    }
    const store = new SlowCancelStore();
    store.hold = false;
    const kit = engineKit({ store, chunk: fixedChunks, concurrency: 3 });
    kit.transport.respondWith((call) => (call.upload.name === 'y.bin' && call.kind === 'status' ? at(0) : undefined));
    const x = await kit.add(new Uint8Array(100 * KiB).fill(7), 'x.bin');
    await kit.transport.next(); // x's request, left open
    store.hold = true;
    const y = startAdd(kit, new Uint8Array(10 * KiB), 'y.bin'); // its store held
    await settle();

    const cancelling = kit.engine.handle({ type: 'cancel', uploadId: x.id });
    await settle();
    expect(store.puts.length).toBe(1); // begun while y's store is held: other files' stores do not delay it
    expect(kit.transport.calls.some((c) => c.kind === 'cancel')).toBe(false);
    store.puts.shift()!();
    let del = await kit.transport.next();
    while (del.kind !== 'cancel') del = await kit.transport.next();
    expect((await store.list()).find((r) => r.id === x.id)?.state).toBe('cancelled');
    del.respond(at(0));
    expect((await cancelling).state).toBe('cancelled');
    expect(y.result.settled).toBe(false);
    store.finishAdd();
    await y.done;
  });

  it('a cancel whose record cannot be written within cancelTimeoutMs still asks the server to drop its bytes, with a deadline of its own', async () => {
    class StuckCancelStore extends HeldStore {
      override async put(record: UploadRecord): Promise<void> {
        if (record.state === 'cancelled') await new Promise<void>(() => undefined); // never written
        return super.put(record);
      }
    }
    const store = new StuckCancelStore();
    store.hold = false;
    const kit = engineKit({ store, chunk: fixedChunks, cancelTimeoutMs: 5_000 });
    const x = await kit.add(new Uint8Array(100 * KiB).fill(7), 'x.bin');
    await kit.transport.next(); // x's request, left open
    const cancelling = kit.engine.handle({ type: 'cancel', uploadId: x.id });
    await settle();
    expect(kit.transport.calls.some((c) => c.kind === 'cancel')).toBe(false);
    await kit.clock.advance(5_000);
    let del = await kit.transport.next();
    while (del.kind !== 'cancel') del = await kit.transport.next();
    expect(del.ctx.signal.aborted).toBe(false);
    del.respond(at(0));
    expect((await cancelling).state).toBe('cancelled');
  });

  it('an upload finishing while another file is being stored is written at once: its record and the drop of its file wait for no other store', async () => {
    const store = new HeldStore();
    store.hold = false;
    const kit = engineKit({ store, chunk: fixedChunks, concurrency: 3 });
    const x = await kit.add(new Uint8Array(10 * KiB).fill(7), 'x.bin');
    const status = await kit.transport.next();
    store.hold = true;
    const y = startAdd(kit, new Uint8Array(10 * KiB), 'y.bin'); // its store held
    await settle();
    status.respond(at(0));
    let call = await kit.transport.next();
    while (call.upload.id !== x.id) call = await kit.transport.next();
    call.respond(at(10 * KiB, true));
    await settle();
    const stored = (await store.list()).find((r) => r.id === x.id)!;
    expect(stored.state).toBe('done');
    expect(await store.file(stored)).toBeUndefined();
    expect(store.waiting).toBe(1); // y's store still held
    store.finishAdd();
    await y.done;
  });

  it('an upload cancelled before its store begins: only its record is stored, as cancelled, and its DELETE waits for no store', async () => {
    const added: string[] = [];
    class WatchedStore extends HeldStore {
      override async add(record: UploadRecord, file: Blob): Promise<UploadRecord> {
        added.push(`${record.name} ${record.state}`);
        return super.add(record, file);
      }
    }
    const store = new WatchedStore();
    const kit = engineKit({ store, chunk: fixedChunks, concurrency: 3 });
    kit.transport.respondWith((call) => (call.upload.name === 'y.bin' && call.kind === 'status' ? at(0) : undefined));
    const y = startAdd(kit, new Uint8Array(10 * KiB), 'y.bin'); // its store held
    const x = startAdd(kit, new Uint8Array(100 * KiB).fill(7), 'x.bin'); // its store queued behind y's
    await settle();
    expect(added.map((a) => a.split(' ')[0])).toEqual(['y.bin']);
    const xId = kit.engine.views().find((v) => v.name === 'x.bin')!.id;

    const cancelling = kit.engine.handle({ type: 'cancel', uploadId: xId });
    let del = await kit.transport.next();
    while (del.kind !== 'cancel') del = await kit.transport.next();
    del.respond(at(0));
    expect((await cancelling).state).toBe('cancelled');
    expect(store.waiting).toBe(1); // y's store still held, x's not begun

    store.finishAdd();
    await y.done;
    await x.done; // answered once its record is stored: no store of x's file to wait for
    expect(x.result.view?.state).toBe('cancelled');
    expect(added.length).toBe(1); // x's file was never stored
    expect(store.waiting).toBe(0);
    await settle();
    const stored = (await store.list()).find((r) => r.id === xId)!;
    expect(stored.state).toBe('cancelled');
    expect(await store.file(stored)).toBeUndefined();
  });

  it('clear-completed answers without waiting for a store queued before its deletes', async () => {
    const store = new HeldStore();
    store.hold = false;
    const kit = engineKit({ store, chunk: fixedChunks });
    kit.transport.respondWith((call) => (call.kind === 'status' ? at(0) : at(call.chunk!.start + call.chunk!.body.size, true)));
    const finished = await kit.add(10 * KiB, 'finished.bin');
    expect(kit.view(finished.id).state).toBe('done');
    store.hold = true;
    const storing = startAdd(kit, new Uint8Array(10 * KiB).fill(1), 'storing.bin');
    await settle();
    expect(await kit.engine.handle({ type: 'clear-completed' })).toBe(1); // the one still storing is skipped
    expect(storing.result.settled).toBe(false);
    expect(kit.engine.views().map((v) => v.name)).toEqual(['storing.bin']);
    store.finishAdd();
    await storing.done;
    await kit.engine.whenIdle();
    expect((await store.list()).map((r) => r.name)).toEqual(['storing.bin']); // the delete landed after the store
  });

  it('a new upload starts with an append at 0 where the transport allows it; after a failure the next run asks the server first', async () => {
    const kit = engineKit({ chunk: fixedChunks });
    kit.transport.appendsAtZero = true;
    const view = await kit.add(150 * KiB);
    let call = await kit.transport.next();
    expect(call.kind).toBe('append');
    expect(call.chunk!.start).toBe(0);
    call.respond({ kind: 'failed', error: new UploadError('NETWORK', 'cut') });
    await settle();
    await kit.clock.until(() => kit.view(view.id).state === 'uploading', 60_000);
    call = await kit.transport.next();
    expect(call.kind).toBe('status'); // the cut request may have landed: only the server knows
  });

  it('the append at 0 meets bytes the server already holds (the same file sent before): the loop goes on from the server’s offset', async () => {
    const kit = engineKit({ chunk: fixedChunks });
    kit.transport.appendsAtZero = true;
    const view = await kit.add(150 * KiB);
    let call = await kit.transport.next();
    expect(call.chunk!.start).toBe(0);
    call.respond({ kind: 'conflict', offset: 128 * KiB, complete: false });
    call = await kit.transport.next();
    expect(call.kind).toBe('append');
    expect(call.chunk!.start).toBe(128 * KiB);
    call.respond(at(150 * KiB, true));
    await settle();
    expect(kit.view(view.id).state).toBe('done');
  });

  it('a transport that must create the upload first (tus, the IETF draft) still asks first', async () => {
    const kit = engineKit({ chunk: fixedChunks });
    await kit.add(150 * KiB);
    expect((await kit.transport.next()).kind).toBe('status');
  });
});
