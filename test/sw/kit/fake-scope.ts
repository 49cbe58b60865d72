// A stand-in for the service worker's global scope, for installUploader: events in, replies and
// broadcasts out, Background Sync and navigator.onLine under the test's control.
import { vi } from 'vitest';
import { isEventEnvelope, type ReplyEnvelope, type RequestEnvelope, type UploadEvent } from '../../../src/protocol/index.js';
import type { UploaderScope } from '../../../sw/install.js';

export class FakeExtendableEvent extends Event {
  readonly waits: Promise<unknown>[] = [];
  constructor(type: string, extra: Record<string, unknown> = {}) {
    super(type);
    Object.assign(this, extra);
  }
  waitUntil(promise: Promise<unknown>): void {
    promise.catch(() => undefined);
    this.waits.push(promise);
  }
}

export function fakeScope(options: { sync?: boolean } = {}) {
  const posted: unknown[] = [];
  const target = new EventTarget();
  const sync = { register: vi.fn(async (_tag: string) => undefined) };
  /** What `navigator.storage.estimate()` answers; a test may change it. */
  const storage = { quota: 1e12, usage: 0 };
  const scope = Object.assign(target, {
    location: { origin: 'http://127.0.0.1:9' },
    registration: { active: null, ...(options.sync === false ? {} : { sync }) },
    // This worker, as its scope shows it: its state changes (e.g. to `redundant`) are events.
    serviceWorker: Object.assign(new EventTarget(), { state: 'activated' }),
    navigator: { onLine: true as boolean, storage: { estimate: async () => ({ ...storage }) } },
    clients: {
      claim: vi.fn(async () => undefined),
      matchAll: vi.fn(async (): Promise<Array<{ postMessage(m: unknown): void }>> => [{ postMessage: (m: unknown) => posted.push(m) }]),
    },
    crypto: globalThis.crypto,
    skipWaiting: vi.fn(async () => undefined),
    fetch: vi.fn(async (_input: RequestInfo | URL, _init?: RequestInit): Promise<Response> => {
      throw new TypeError('Failed to fetch');
    }),
  });
  const events = (): UploadEvent[] => posted.filter(isEventEnvelope).map((e) => e.event);
  return { scope, asScope: scope as unknown as UploaderScope, posted, events, sync, storage };
}

/** Dispatches a request as a page would (over a MessageChannel) and resolves with the reply. */
export async function send(scope: EventTarget, envelope: RequestEnvelope): Promise<{ reply: ReplyEnvelope; event: FakeExtendableEvent }> {
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
