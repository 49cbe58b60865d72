// Retries, step by step on a fake clock: the backoff holds whatever triggers fire, errors that are
// nobody's decision are retried a few times, refusals are final. No sockets, no sleeps.
import { describe, expect, it } from 'vitest';
import { UploadError } from '../../src/protocol/index.js';
import { SYNC_TAG } from '../../sw/install.js';
import { settle } from './kit/fake-clock.js';
import { FakeExtendableEvent, send } from './kit/fake-scope.js';
import { at } from './kit/scripted-transport.js';
import { engineKit } from './kit/engine-kit.js';
import type { TransportOutcome } from '../../sw/transport/port.js';

const down = (): TransportOutcome => ({ kind: 'failed', error: new UploadError('NETWORK', 'GET /status failed: the server could not be reached (TypeError: Failed to fetch)') });

describe('backoff holds from every trigger (defect 1: the retry storm)', () => {
  it('a server down for 60 s with the browser online: online relays, sync events and pings every second make at most 10 attempts, and it finishes by itself within the cap once back', async () => {
    const kit = engineKit({}, { sync: true });
    kit.transport.respondWith(down);
    const view = await kit.add(1000);
    const outageStart = kit.clock.now();
    while (kit.clock.now() - outageStart < 60_000) {
      // Everything that used to bypass the backoff, fired every second.
      await kit.engine.handle({ type: 'online' });
      await kit.engine.handle({ type: 'ping' });
      const sync = new FakeExtendableEvent('sync', { tag: SYNC_TAG });
      kit.scope.scope.dispatchEvent(sync);
      await send(kit.scope.scope, { kind: 'resilient-upload:request', id: 'p', request: { type: 'ping' } });
      await kit.clock.advance(1000);
    }
    const attempts = kit.transport.calls.length;
    expect(attempts).toBeGreaterThanOrEqual(5);
    expect(attempts).toBeLessThanOrEqual(10);
    // Online the whole time: Background Sync was never asked for (it would fire at once).
    expect(kit.scope.sync.register).not.toHaveBeenCalled();
    expect(kit.view(view.id).state).toBe('waiting');
    expect(kit.view(view.id).error?.code).toBe('NETWORK');

    // The server is back: no trigger at all, the timer alone finishes it within the 60 s cap.
    kit.transport.respondWith((call) => (call.kind === 'status' ? at(0) : at(1000, true)));
    const took = await kit.clock.until(() => kit.view(view.id).state === 'done', 61_000);
    expect(took).toBeLessThanOrEqual(60_000);
  });

  it('delays double from 1 s with jitter, capped at 60 s, and the view says when the next try is', async () => {
    const kit = engineKit();
    kit.transport.respondWith(down);
    const view = await kit.add(10);
    const gaps: number[] = [];
    let last = kit.clock.now();
    let seen = kit.transport.calls.length;
    while (gaps.length < 9) {
      await kit.clock.advance(250);
      if (kit.transport.calls.length > seen) {
        seen = kit.transport.calls.length;
        gaps.push(kit.clock.now() - last);
        last = kit.clock.now();
      }
    }
    // random() = 0.5 with jitter 0.5: 75 % of 1, 2, 4 … 60 s (rounded up to the 250 ms step).
    expect(gaps).toEqual([750, 1500, 3000, 6000, 12000, 24000, 45000, 45000, 45000]);
    const waiting = kit.view(view.id);
    expect(waiting.retryAt).toBe(last + 45_000);
    expect(waiting.attempts).toBe(10);
  });

  it('offline (navigator.onLine false): Background Sync is registered, and the sync event retries at once, once per failure', async () => {
    const kit = engineKit();
    kit.scope.scope.navigator.onLine = false;
    kit.transport.respondWith(down);
    const view = await kit.add(10);
    expect(kit.scope.sync.register).toHaveBeenCalledWith(SYNC_TAG);
    await kit.clock.advance(750); // the first retry
    const before = kit.transport.calls.length;
    kit.scope.scope.navigator.onLine = true;
    kit.transport.respondWith((call) => (call.kind === 'status' ? at(0) : at(10, true)));
    const sync = new FakeExtendableEvent('sync', { tag: SYNC_TAG });
    kit.scope.scope.dispatchEvent(sync);
    await Promise.all(sync.waits);
    expect(kit.transport.calls.length).toBeGreaterThan(before);
    expect(kit.view(view.id).state).toBe('done');
  });

  it("the page's offline: the request under way stops at once and the upload waits with NETWORK, its file kept; online resumes it from the server's word", async () => {
    const kit = engineKit();
    const view = await kit.add(1000);
    // The append is sending and would go on (devtools' offline lets a request already sending run).
    const first = await kit.transport.next();
    expect(first.kind).toBe('status');
    first.respond(at(0));
    const append = await kit.transport.next();
    expect(append.kind).toBe('append');
    await kit.engine.handle({ type: 'offline' });
    expect(await append.answered).toEqual({ kind: 'aborted' });
    await settle();
    const waiting = kit.view(view.id);
    expect(waiting.state).toBe('waiting');
    expect(waiting.error?.code).toBe('NETWORK');
    const [record] = await kit.store.list();
    expect(await kit.store.file(record!)).toBeDefined();
    // Online again: the early retry asks the server where it stands, then sends the rest.
    kit.transport.respondWith((call) => (call.kind === 'status' ? at(400) : at(1000, true)));
    await kit.engine.handle({ type: 'online' });
    await settle();
    expect(kit.transport.calls.slice(2).map((c) => c.kind)).toEqual(['status', 'append']);
    expect(kit.transport.calls[3]!.chunk?.start).toBe(400);
    expect(kit.view(view.id).state).toBe('done');
  });

  it('two triggers between failures: the first retries early, the second waits for the timer', async () => {
    const kit = engineKit();
    kit.transport.respondWith(down);
    await kit.add(10);
    expect(kit.transport.calls).toHaveLength(1);
    await kit.engine.handle({ type: 'online' });
    await settle();
    expect(kit.transport.calls).toHaveLength(2); // early
    await kit.engine.handle({ type: 'online' });
    await settle();
    expect(kit.transport.calls).toHaveLength(2); // an early retry that failed grants no other
    await kit.clock.advance(1499);
    expect(kit.transport.calls).toHaveLength(2);
    await kit.clock.advance(1);
    expect(kit.transport.calls).toHaveLength(3); // the timer (attempt 2: 1.5 s)
    await kit.engine.handle({ type: 'online' });
    await settle();
    expect(kit.transport.calls).toHaveLength(4); // a scheduled failure grants one again
  });

  it('a Retry-After longer than the backoff is honoured', async () => {
    const kit = engineKit();
    kit.transport.respondWith(() => ({ kind: 'failed', error: new UploadError('THROTTLED', 'HTTP 429: slow down', { status: 429 }), retryAfterMs: 30_000 }));
    const view = await kit.add(10);
    expect(kit.view(view.id).retryAt).toBe(kit.clock.now() + 30_000);
    await kit.clock.advance(29_999);
    expect(kit.transport.calls).toHaveLength(1);
    await kit.clock.advance(1);
    expect(kit.transport.calls).toHaveLength(2);
  });
});

describe("errors that are nobody's decision are not final at once", () => {
  it('a platform exception from the transport is retried with backoff, then failed with its original name and message', async () => {
    const kit = engineKit();
    const transport = kit.transport;
    // A transport that throws instead of answering, as a platform bug would.
    transport.status = () => Promise.reject(new TypeError('ReadableStreamBYOBReader needs a ReadableByteStreamController'));
    const view = await kit.add(10);
    expect(kit.view(view.id).state).toBe('waiting');
    await kit.clock.advance(10 * 60_000);
    const failed = kit.view(view.id);
    expect(failed.state).toBe('failed');
    expect(failed.attempts).toBe(4);
    expect(failed.error).toMatchObject({ code: 'INTERNAL', cause: { name: 'TypeError', message: 'ReadableStreamBYOBReader needs a ReadableByteStreamController' } });
    expect(failed.error?.message).toContain('TypeError: ReadableStreamBYOBReader needs a ReadableByteStreamController');
    // Every page heard of it, with the cause.
    const errors = kit.events().filter((e) => e.type === 'error');
    expect(errors.at(-1)).toMatchObject({ error: { code: 'INTERNAL', cause: { name: 'TypeError' } } });
    // The file is kept: a retry by the user uploads it.
    transport.status = (upload, ctx) => Promise.resolve(at(10, true));
    await kit.engine.handle({ type: 'retry', uploadId: view.id });
    await settle();
    expect(kit.view(view.id).state).toBe('done');
  });

  it('a stored file that cannot be read (STORAGE) is retried a few times, the file kept', async () => {
    const kit = engineKit();
    const view = await kit.engine.handle({ type: 'add', file: new File(['abc'], 'a'), name: 'a', lastModified: 1, options: {} });
    // The Blob turns unreadable (WebKit has lost stored Blobs across restarts).
    kit.store.file = async () => ({ size: 3, slice: () => Promise.reject(new UploadError('STORAGE', 'IndexedDB failed to read the file: NotReadableError: gone')) });
    kit.transport.respondWith(() => at(0));
    await kit.clock.advance(60_000);
    expect(kit.view(view.id)).toMatchObject({ state: 'failed', error: { code: 'STORAGE' } });
    expect(kit.transport.calls.filter((c) => c.kind === 'status')).toHaveLength(4);
  });

  it('a refusal (REJECTED) is final: failed, and nothing more is sent', async () => {
    const kit = engineKit();
    kit.transport.respondWith((call) =>
      call.kind === 'status' ? at(0) : { kind: 'failed', error: new UploadError('REJECTED', 'HTTP 413: the body would take the upload past its size limit', { status: 413, serverCode: 'TOO_LARGE' }) },
    );
    const view = await kit.add(10);
    expect(kit.view(view.id)).toMatchObject({ state: 'failed', error: { code: 'REJECTED', status: 413, serverCode: 'TOO_LARGE' } });
    const sent = kit.transport.calls.length;
    await kit.engine.handle({ type: 'online' });
    await kit.clock.advance(10 * 60_000);
    expect(kit.transport.calls.length).toBe(sent);
  });
});
