// Events reach every window in order, with one clients.matchAll per burst rather than per event.
import { describe, expect, it } from 'vitest';
import type { UploadEvent } from '../../src/protocol/index.js';
import { broadcaster, type WindowClients } from '../../sw/broadcast.js';

type Lookup = { resolve(windows: Array<{ postMessage(m: unknown): void }>): void; reject(error: Error): void };

/** Clients whose every matchAll waits for the test. */
function heldClients() {
  const lookups: Lookup[] = [];
  const clients: WindowClients = {
    matchAll: () => new Promise((resolve, reject) => lookups.push({ resolve, reject })),
  };
  return { clients, lookups };
}

function inbox() {
  const got: string[] = [];
  return { got, window: { postMessage: (m: unknown) => got.push((m as { event: { uploadId: string } }).event.uploadId) } };
}

const removed = (id: string): UploadEvent => ({ type: 'removed', uploadId: id });
const tick = () => new Promise((resolve) => setTimeout(resolve, 0));

describe('broadcaster', () => {
  it('events raised in one task share one lookup and reach every window in order', async () => {
    const { clients, lookups } = heldClients();
    const send = broadcaster(clients);
    send(removed('a'));
    send(removed('b'));
    send(removed('c'));
    await tick();
    expect(lookups.length).toBe(1);
    const [one, two] = [inbox(), inbox()];
    lookups[0]!.resolve([one.window, two.window]);
    await tick();
    expect(one.got).toEqual(['a', 'b', 'c']);
    expect(two.got).toEqual(['a', 'b', 'c']);
  });

  it('events raised while a lookup is under way go out after it, with one more lookup, in order', async () => {
    const { clients, lookups } = heldClients();
    const send = broadcaster(clients);
    const box = inbox();
    send(removed('a'));
    await tick();
    send(removed('b'));
    await tick();
    send(removed('c'));
    await tick();
    expect(lookups.length).toBe(1); // one at a time
    lookups[0]!.resolve([box.window]);
    await tick();
    expect(box.got).toEqual(['a']);
    expect(lookups.length).toBe(2);
    lookups[1]!.resolve([box.window]);
    await tick();
    expect(box.got).toEqual(['a', 'b', 'c']);
    send(removed('d')); // idle again: a new burst starts its own lookup
    await tick();
    lookups[2]!.resolve([box.window]);
    await tick();
    expect(box.got).toEqual(['a', 'b', 'c', 'd']);
  });

  it('a failed lookup or a window that throws does not stop the events after it', async () => {
    const { clients, lookups } = heldClients();
    const send = broadcaster(clients);
    const box = inbox();
    send(removed('lost'));
    await tick();
    send(removed('b'));
    lookups[0]!.reject(new Error('shutting down'));
    await tick();
    const gone = { postMessage: () => { throw new Error('gone'); } };
    lookups[1]!.resolve([gone, box.window]);
    await tick();
    expect(box.got).toEqual(['b']);
  });
});
