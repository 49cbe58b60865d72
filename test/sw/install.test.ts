// installUploader wired to a fake service-worker scope: events in, replies and broadcasts out.
import { describe, expect, it, vi } from 'vitest';
import { isEventEnvelope, isReplyEnvelope } from '../../src/protocol/index.js';
import { SYNC_TAG, installUploader, type UploaderScope } from '../../sw/install.js';
import { MemoryRecordStore } from '../../sw/memory-record-store.js';
import { FakeExtendableEvent, fakeScope, send } from './kit/fake-scope.js';

function install() {
  const { scope, asScope, posted, sync } = fakeScope();
  scope.navigator.onLine = false; // Background Sync is only asked for while offline
  const engine = installUploader({ scope: asScope, store: new MemoryRecordStore(), retry: { baseMs: 60_000, maxMs: 60_000 }, idleGraceMs: 0 });
  return { scope, posted, engine, syncManager: sync };
}

describe('installUploader', () => {
  it('install skips waiting, activate claims the clients and starts the engine', async () => {
    const { scope } = install();
    const installing = new FakeExtendableEvent('install');
    scope.dispatchEvent(installing);
    await Promise.all(installing.waits);
    expect(scope.skipWaiting).toHaveBeenCalled();
    const activating = new FakeExtendableEvent('activate');
    scope.dispatchEvent(activating);
    await Promise.all(activating.waits);
    expect(scope.clients.claim).toHaveBeenCalled();
  });

  it('answers requests over the message port, inside waitUntil', async () => {
    const { scope } = install();
    const { reply, event } = await send(scope, { kind: 'resilient-upload:request', id: 'r1', request: { type: 'list' } });
    expect(isReplyEnvelope(reply)).toBe(true);
    expect(reply).toEqual({ kind: 'resilient-upload:reply', id: 'r1', ok: true, result: [] });
    expect(event.waits).toHaveLength(1);
    await Promise.all(event.waits);
  });

  it('replies with typed error info', async () => {
    const { scope } = install();
    const { reply } = await send(scope, { kind: 'resilient-upload:request', id: 'r2', request: { type: 'pause', uploadId: 'nope' } });
    expect(reply).toMatchObject({ id: 'r2', ok: false, error: { code: 'NOT_FOUND' } });
  });

  it('ignores messages that are not requests', () => {
    const { scope } = install();
    const event = new FakeExtendableEvent('message', { data: { hello: 1 }, ports: [] });
    scope.dispatchEvent(event);
    expect(event.waits).toHaveLength(0);
  });

  it('broadcasts events to windows and registers Background Sync when an upload waits; sync retries it', async () => {
    const { scope, posted, engine, syncManager } = install();
    const file = new File([new Uint8Array(10)], 'a.bin');
    const { reply, event } = await send(scope, {
      kind: 'resilient-upload:request',
      id: 'r3',
      request: { type: 'add', file, name: 'a.bin', lastModified: 1, options: {} },
    });
    expect(reply.ok).toBe(true);
    await Promise.all(event.waits);
    expect(engine.views()[0]?.state).toBe('waiting');
    expect(syncManager.register).toHaveBeenCalledWith(SYNC_TAG);
    await vi.waitFor(() => expect(posted.filter(isEventEnvelope).map((e) => e.event.type)).toContain('error'));
    expect(scope.clients.matchAll).toHaveBeenCalledWith({ type: 'window', includeUncontrolled: true });

    const fetches = scope.fetch.mock.calls.length;
    const sync = new FakeExtendableEvent('sync', { tag: SYNC_TAG });
    scope.dispatchEvent(sync);
    // Still offline: the sync promise rejects so the browser fires it again later.
    await expect(Promise.all(sync.waits)).rejects.toMatchObject({ code: 'NETWORK' });
    expect(scope.fetch.mock.calls.length).toBeGreaterThan(fetches);

    const other = new FakeExtendableEvent('sync', { tag: 'someone-else' });
    scope.dispatchEvent(other);
    expect(other.waits).toHaveLength(0);
  });
});

describe('installUploader refuses clearly what the worker cannot do', () => {
  it('no Web Crypto with digests on: UNSUPPORTED naming the fix', () => {
    const { scope: fake } = fakeScope();
    const scope = Object.assign(fake, { crypto: {} }) as unknown as UploaderScope;
    expect(() => installUploader({ scope, store: new MemoryRecordStore() })).toThrow(/crypto\.subtle.*digest: false/);
    expect(() => installUploader({ scope, store: new MemoryRecordStore(), digest: false })).not.toThrow();
  });

  it('no IndexedDB and no store given: UNSUPPORTED', () => {
    const { asScope } = fakeScope();
    const saved = (globalThis as { indexedDB?: unknown }).indexedDB;
    delete (globalThis as { indexedDB?: unknown }).indexedDB;
    try {
      expect(() => installUploader({ scope: asScope })).toThrow(expect.objectContaining({ code: 'UNSUPPORTED' }));
    } finally {
      if (saved !== undefined) (globalThis as { indexedDB?: unknown }).indexedDB = saved;
    }
  });

  it('without crypto.randomUUID, ids still come out as random v4 UUIDs', async () => {
    const { scope: fake } = fakeScope();
    const scope = Object.assign(fake, { crypto: { subtle: crypto.subtle, getRandomValues: crypto.getRandomValues.bind(crypto) } }) as unknown as UploaderScope;
    const engine = installUploader({ scope, store: new MemoryRecordStore(), digest: false, retry: { baseMs: 60_000 } });
    const view = await engine.handle({ type: 'add', file: new File(['x'], 'a'), name: 'a', lastModified: 1, options: {} });
    expect(view.id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    await engine.handle({ type: 'pause', uploadId: view.id });
  });
});
