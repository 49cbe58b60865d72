// installUploader wired to a fake service-worker scope: events in, replies and broadcasts out.
import { describe, expect, it, vi } from 'vitest';
import { isEventEnvelope, isReplyEnvelope, type ReplyEnvelope, type RequestEnvelope } from '../../src/protocol/index.js';
import { SYNC_TAG, installUploader, type UploaderScope } from '../../sw/install.js';
import { MemoryUploadStore } from '../../sw/memory-store.js';

class FakeExtendableEvent extends Event {
  readonly waits: Promise<unknown>[] = [];
  constructor(type: string, readonly extra: Record<string, unknown> = {}) {
    super(type);
    Object.assign(this, extra);
  }
  waitUntil(promise: Promise<unknown>): void {
    this.waits.push(promise);
  }
}

function fakeScope() {
  const posted: unknown[] = [];
  const target = new EventTarget();
  const scope = Object.assign(target, {
    location: { origin: 'http://127.0.0.1:9' },
    registration: { active: null, sync: { register: vi.fn(async (_tag: string) => undefined) } },
    serviceWorker: {},
    navigator: { storage: { estimate: async () => ({ quota: 1e12, usage: 0 }) } },
    clients: {
      claim: vi.fn(async () => undefined),
      matchAll: vi.fn(async () => [{ postMessage: (m: unknown) => posted.push(m) }]),
    },
    skipWaiting: vi.fn(async () => undefined),
    fetch: vi.fn(async () => {
      throw new TypeError('Failed to fetch');
    }),
  });
  return { scope, posted };
}

async function send(scope: EventTarget, envelope: RequestEnvelope): Promise<{ reply: ReplyEnvelope; event: FakeExtendableEvent }> {
  const channel = new MessageChannel();
  const reply = new Promise<ReplyEnvelope>((resolve) => {
    channel.port2.onmessage = (e: MessageEvent) => resolve(e.data as ReplyEnvelope);
  });
  const event = new FakeExtendableEvent('message', { data: envelope, ports: [channel.port1], source: null });
  scope.dispatchEvent(event);
  const result = await reply;
  channel.port1.close();
  channel.port2.close();
  return { reply: result, event };
}

function install() {
  const { scope, posted } = fakeScope();
  const engine = installUploader({
    scope: scope as unknown as UploaderScope, // an EventTarget's listener type is looser than the scope's
    store: new MemoryUploadStore(),
    engine: { retry: { baseMs: 60_000, maxMs: 60_000 }, idleGraceMs: 0 },
  });
  return { scope, posted, engine };
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
    const { scope, posted, engine } = install();
    const file = new File([new Uint8Array(10)], 'a.bin');
    const { reply, event } = await send(scope, {
      kind: 'resilient-upload:request',
      id: 'r3',
      request: { type: 'add', file, name: 'a.bin', lastModified: 1, options: {} },
    });
    expect(reply.ok).toBe(true);
    await Promise.all(event.waits);
    expect(engine.views()[0]?.state).toBe('waiting');
    expect(scope.registration.sync.register).toHaveBeenCalledWith(SYNC_TAG);
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
