// Request/reply with the service worker over a fresh MessageChannel per request.
// Unlike workbox-window's messageSW, every request here times out.
import { UploadError } from './protocol/errors.js';
import {
  isReplyEnvelope,
  type PageRequest,
  type ReplyMap,
  type RequestEnvelope,
} from './protocol/messages.js';

export interface MessageTarget {
  postMessage(message: unknown, transfer: Transferable[]): void;
}

let counter = 0;

function nextId(): string {
  counter += 1;
  return `${Date.now().toString(36)}-${counter}-${Math.random().toString(36).slice(2, 8)}`;
}

/**
 * A timeout that requests may share, restarted by every answer among them: what times out is a
 * worker that says nothing for `ms`, not a queue of requests it answers one after another (the
 * adds of several files, each answered once its file is stored).
 */
export class Patience {
  readonly ms: number;
  readonly #waiting = new Set<() => void>();
  #timer: ReturnType<typeof setTimeout> | undefined;

  constructor(ms: number) {
    this.ms = ms;
  }

  /** Calls `expire` once nothing answered for `ms`; the returned function says this one answered. */
  wait(expire: () => void): () => void {
    this.#waiting.add(expire);
    this.#timer ??= this.#arm();
    return () => {
      if (!this.#waiting.delete(expire)) return;
      clearTimeout(this.#timer);
      this.#timer = this.#waiting.size > 0 ? this.#arm() : undefined;
    };
  }

  #arm(): ReturnType<typeof setTimeout> {
    return setTimeout(() => {
      this.#timer = undefined;
      const expired = [...this.#waiting];
      this.#waiting.clear();
      for (const expire of expired) expire();
    }, this.ms);
  }
}

/**
 * Sends one request and resolves with the worker's reply, or rejects with a typed UploadError;
 * `TIMEOUT` after `timeout` ms without an answer (or, with a shared `Patience`, without any).
 */
export function request<R extends PageRequest>(
  target: MessageTarget,
  req: R,
  timeout: number | Patience,
): Promise<ReplyMap[R['type']]> {
  return new Promise((resolve, reject) => {
    const channel = new MessageChannel();
    const id = nextId();
    const patience = typeof timeout === 'number' ? new Patience(timeout) : timeout;
    const answered = patience.wait(() => {
      channel.port1.close();
      reject(new UploadError('TIMEOUT', `The service worker did not answer '${req.type}' within ${patience.ms} ms`));
    });
    channel.port1.onmessage = (event: MessageEvent<unknown>) => {
      const data = event.data;
      if (!isReplyEnvelope(data) || data.id !== id) return;
      answered();
      channel.port1.close();
      if (data.ok) resolve(data.result as ReplyMap[R['type']]);
      else reject(UploadError.fromInfo(data.error));
    };
    const envelope: RequestEnvelope = { kind: 'resilient-upload:request', id, request: req };
    try {
      target.postMessage(envelope, [channel.port2]);
    } catch (cause) {
      answered();
      channel.port1.close();
      reject(new UploadError('INTERNAL', `Could not post '${req.type}' to the service worker`, { cause }));
    }
  });
}
