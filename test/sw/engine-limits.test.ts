// What bounds one request: a body whose bytes stop moving times out long before its deadline by
// size, and a server's limit per append (IETF max-append-size) caps every append.
import { describe, expect, it } from 'vitest';
import { MiB } from '../../sw/chunk-size.js';
import { engineKit } from './kit/engine-kit.js';
import { settle } from './kit/fake-clock.js';
import { at } from './kit/scripted-transport.js';

describe('limits of one request', () => {
  it('a body whose bytes stop moving for baseMs times out, long before its deadline by size; one that reports nothing, or all its bytes, does not', async () => {
    const kit = engineKit();
    kit.transport.appendsAtZero = true;
    const view = await kit.add(10 * MiB, 'stalled.bin');
    const append = await kit.transport.next();
    expect(append.chunk!.body.size).toBe(4 * MiB); // its deadline by size: 30 s + 64 s
    await kit.clock.advance(20_000); // nothing reported sent: the watch is not armed
    expect(append.ctx.signal.aborted).toBe(false);
    append.ctx.onSent!(1 * MiB);
    await kit.clock.advance(29_000);
    append.ctx.onSent!(2 * MiB); // still moving
    await kit.clock.advance(29_000);
    expect(append.ctx.signal.aborted).toBe(false);
    await kit.clock.advance(1_000);
    expect(append.ctx.signal.aborted).toBe(true);
    await settle();
    const error = kit.events().find((e) => e.type === 'error' && e.upload.id === view.id);
    expect(error?.type === 'error' && [error.error.code, error.error.message]).toEqual(['TIMEOUT', 'Timed out: no byte of the request went out for 30 s']);

    while (kit.transport.calls.length === 1) await kit.clock.advance(1_000); // the retry's backoff
    const status = await kit.transport.next(); // the retry asks where the server is, then sends the rest
    expect(status.kind).toBe('status');
    status.respond(at(2 * MiB));
    const again = await kit.transport.next();
    again.ctx.onSent!(again.chunk!.body.size); // all out: waiting for the answer is the deadline's business
    await kit.clock.advance(45_000);
    expect(again.ctx.signal.aborted).toBe(false);
  });

  it('a server’s limit per append (IETF max-append-size) caps every append, the joined remainder included', async () => {
    const kit = engineKit();
    kit.transport.appendsAtZero = true;
    kit.transport.maxAppend = 3 * MiB;
    kit.transport.respondWith((call) => {
      if (call.kind !== 'append') return undefined;
      const reached = call.chunk!.start + call.chunk!.body.size;
      return at(reached, reached === 10 * MiB);
    });
    const view = await kit.add(10 * MiB, 'limited.bin');
    await kit.engine.whenIdle();
    expect(kit.view(view.id).state).toBe('done');
    const sizes = kit.transport.calls.filter((c) => c.kind === 'append').map((c) => c.chunk!.body.size);
    expect(Math.max(...sizes)).toBeLessThanOrEqual(3 * MiB);
    expect(sizes.reduce((a, b) => a + b, 0)).toBe(10 * MiB);
  });
});
