// Events to every window of the origin. `clients.matchAll` is a round trip to the browser
// process, and a batch of 20 uploads raises hundreds of events (states, progress): one lookup per
// burst, not per event. At most one lookup is under way; the events raised meanwhile go out after
// it, with the next one, so every window still gets every event in the order they were raised.
import type { EventEnvelope, UploadEvent } from '../src/protocol/index.js';

/** The part of `ServiceWorkerGlobalScope.clients` a broadcast needs. */
export interface WindowClients {
  matchAll(options: { type: 'window'; includeUncontrolled: boolean }): Promise<ReadonlyArray<{ postMessage(message: unknown): void }>>;
}

/** A function that sends an event to every window, controlled or not (a tab opened before the worker). */
export function broadcaster(clients: WindowClients): (event: UploadEvent) => void {
  let pending: UploadEvent[] = [];
  let sending = false;

  const send = async (): Promise<void> => {
    sending = true;
    try {
      while (pending.length > 0) {
        const events = pending;
        pending = [];
        let windows: ReadonlyArray<{ postMessage(message: unknown): void }>;
        try {
          windows = await clients.matchAll({ type: 'window', includeUncontrolled: true });
        } catch {
          continue; // no window to tell (the worker is shutting down)
        }
        for (const window of windows) {
          for (const event of events) {
            try {
              window.postMessage({ kind: 'resilient-upload:event', event } satisfies EventEnvelope);
            } catch {
              break; // a window that went away mid-broadcast
            }
          }
        }
      }
    } finally {
      sending = false;
    }
  };

  return (event) => {
    pending.push(event);
    // After the current task: the events it raises (a state and its `complete`) share the lookup.
    if (!sending && pending.length === 1) queueMicrotask(() => void send());
  };
}
