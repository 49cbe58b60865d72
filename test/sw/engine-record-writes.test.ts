// When the store will not take a record (quota, a closed connection): the error is said with the
// store's reason, memory stays right, the next change writes the record again, and a cancel whose
// `cancelled` record cannot be written leaves no record behind that a restart would bring back.
import { describe, expect, it } from 'vitest';
import { HeldStore } from './kit/held-store.js';
import type { UploadRecord } from '../../sw/record.js';
import { engineKit } from './kit/engine-kit.js';
import { settle } from './kit/fake-clock.js';
import { at } from './kit/scripted-transport.js';

/** A store whose puts fail while `refuse` says so, as a full disk's would; its adds may be held. */
class RefusingStore extends HeldStore {
  refuse: (record: UploadRecord) => boolean = () => false;
  override hold = false;
  override async put(record: UploadRecord): Promise<void> {
    if (this.refuse(record)) throw new DOMException('The quota has been exceeded.', 'QuotaExceededError');
    return super.put(record);
  }
}

describe('record writes the store refuses', () => {
  it('are said once with the store’s reason, and written again at the next change', async () => {
    const store = new RefusingStore();
    const kit = engineKit({ store });
    const view = await kit.add(100, 'f.bin');
    await kit.transport.next(); // running, its first request held
    store.refuse = () => true;
    await kit.engine.handle({ type: 'pause', uploadId: view.id });
    await settle();
    const errors = kit.events().filter((e) => e.type === 'error' && e.upload.id === view.id);
    expect(errors).toHaveLength(1);
    expect(errors[0]!.type === 'error' && errors[0]!.error).toMatchObject({
      code: 'STORAGE',
      message: "The upload's state could not be saved (QuotaExceededError: The quota has been exceeded.)",
    });
    expect((await store.list())[0]?.state).not.toBe('paused');
    store.refuse = () => false;
    kit.transport.respondWith(() => at(0));
    await kit.engine.handle({ type: 'resume', uploadId: view.id });
    await kit.engine.handle({ type: 'pause', uploadId: view.id });
    await settle();
    expect((await store.list())[0]?.state).toBe('paused');
  });

  it('a cancel whose `cancelled` record the store will not take: tried again, then no record is left to come back after a restart; the DELETE still goes', async () => {
    const store = new RefusingStore();
    const kit = engineKit({ store });
    const view = await kit.add(100, 'f.bin');
    await kit.transport.next();
    store.refuse = (record) => record.state === 'cancelled';
    const cancelling = kit.engine.handle({ type: 'cancel', uploadId: view.id });
    const del = await kit.transport.next();
    expect(del.kind).toBe('cancel');
    del.respond(at(0));
    expect((await cancelling).state).toBe('cancelled');
    expect(await store.list()).toEqual([]);
    expect(await store.file(kit.view(view.id) as unknown as UploadRecord)).toBeUndefined();
    // A restart on the same store: nothing comes back.
    const again = engineKit({ store });
    await again.engine.whenIdle();
    expect(again.engine.views()).toEqual([]);
  });

  it('the same when the file’s store outlasts the cancel’s wait: the DELETE goes after it, the record is removed once the store ends', async () => {
    const store = new RefusingStore();
    store.hold = true;
    const kit = engineKit({ store, cancelTimeoutMs: 5_000 });
    kit.transport.appendsAtZero = true;
    const adding = kit.engine.handle({ type: 'add', file: new File([new Uint8Array(100)], 'f.bin'), name: 'f.bin', lastModified: 1, options: {} });
    await settle();
    const view = kit.engine.views()[0]!;
    await kit.transport.next(); // uploading while its file is being stored (held)
    store.refuse = (record) => record.state === 'cancelled';
    const cancelling = kit.engine.handle({ type: 'cancel', uploadId: view.id });
    await kit.clock.advance(5_000);
    const del = await kit.transport.next();
    expect(del.kind).toBe('cancel');
    del.respond(at(0));
    expect((await cancelling).state).toBe('cancelled');
    store.finishAdd(); // the store ends: it wrote the upload as it stood when it began, unfinished
    await adding.catch(() => undefined);
    await kit.engine.whenIdle();
    await settle();
    expect(await store.list()).toEqual([]);
  });
});
