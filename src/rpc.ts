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

/** Sends one request and resolves with the worker's reply, or rejects with a typed UploadError. */
export function request<R extends PageRequest>(
  target: MessageTarget,
  req: R,
  timeoutMs: number,
): Promise<ReplyMap[R['type']]> {
  return new Promise((resolve, reject) => {
    const channel = new MessageChannel();
    const id = nextId();
    const timer = setTimeout(() => {
      channel.port1.close();
      reject(new UploadError('TIMEOUT', `The service worker did not answer '${req.type}' within ${timeoutMs} ms`));
    }, timeoutMs);
    channel.port1.onmessage = (event: MessageEvent<unknown>) => {
      const data = event.data;
      if (!isReplyEnvelope(data) || data.id !== id) return;
      clearTimeout(timer);
      channel.port1.close();
      if (data.ok) resolve(data.result as ReplyMap[R['type']]);
      else reject(UploadError.fromInfo(data.error));
    };
    const envelope: RequestEnvelope = { kind: 'resilient-upload:request', id, request: req };
    try {
      target.postMessage(envelope, [channel.port2]);
    } catch (cause) {
      clearTimeout(timer);
      channel.port1.close();
      reject(new UploadError('INTERNAL', `Could not post '${req.type}' to the service worker`, { cause }));
    }
  });
}
