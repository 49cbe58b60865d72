// What bounds one request: a body whose bytes stop moving times out long before its deadline by
// size, and a server's limits per append (IETF max-append-size, min-append-size) bound every append.
import { describe, expect, it } from 'vitest';
import { MiB } from '../../sw/chunk-size.js';
import { engineKit } from './kit/engine-kit.js';
import { settle } from './kit/fake-clock.js';
import { at } from './kit/scripted-transport.js';

/** The scripted server takes every append whole and completes the upload at `size` bytes. */
function acknowledgeAppends(kit: ReturnType<typeof engineKit>, size: number): void {
  kit.transport.respondWith((call) => {
    if (call.kind !== 'append') return undefined;
    const reached = call.chunk!.start + call.chunk!.body.size;
    return at(reached, reached === size);
  });
}

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
    kit.transport.limits = { max: 3 * MiB };
    acknowledgeAppends(kit, 10 * MiB);
    const view = await kit.add(10 * MiB, 'limited.bin');
    await kit.engine.whenIdle();
    expect(kit.view(view.id).state).toBe('done');
    const sizes = kit.transport.calls.filter((c) => c.kind === 'append').map((c) => c.chunk!.body.size);
    expect(Math.max(...sizes)).toBeLessThanOrEqual(3 * MiB);
    expect(sizes.reduce((a, b) => a + b, 0)).toBe(10 * MiB);
  });
  /** Runs a file through a scripted server that acknowledges every append; the sizes of the appends sent. */
  async function appendSizes(kit: ReturnType<typeof engineKit>, size: number): Promise<{ state: string; sizes: number[] }> {
    kit.transport.appendsAtZero = true;
    acknowledgeAppends(kit, size);
    const view = await kit.add(size, 'bounded.bin');
    await kit.engine.whenIdle();
    return { state: kit.view(view.id).state, sizes: kit.transport.calls.filter((c) => c.kind === 'append').map((c) => c.chunk!.body.size) };
  }

  it('a server’s min-append-size raises every append but the last (4 MiB first chunks become 6 MiB)', async () => {
    const kit = engineKit();
    kit.transport.limits = { min: 6 * MiB };
    const { state, sizes } = await appendSizes(kit, 20 * MiB);
    expect(state).toBe('done');
    expect(sizes[0]).toBe(6 * MiB);
    expect(sizes.slice(0, -1).every((n) => n >= 6 * MiB)).toBe(true);
    expect(sizes.reduce((a, b) => a + b, 0)).toBe(20 * MiB);
  });

  it('with a digest per chunk, a min-append-size above the 32 MiB cap is what each append carries', async () => {
    const kit = engineKit({ digest: true });
    kit.transport.limits = { min: 40 * MiB };
    const { state, sizes } = await appendSizes(kit, 85 * MiB);
    expect(state).toBe('done');
    expect(sizes).toEqual([40 * MiB, 40 * MiB, 5 * MiB]); // the completing append may carry less
    expect(kit.transport.calls.find((c) => c.kind === 'append')!.chunk!.sha256).toBeDefined();
  });

  it('a min-append-size above the max-append-size: REJECTED, unless the rest fits one completing append', async () => {
    const refused = engineKit();
    refused.transport.limits = { min: 8 * MiB, max: 4 * MiB };
    const out = await appendSizes(refused, 20 * MiB);
    expect(out).toEqual({ state: 'failed', sizes: [] });
    const error = refused.events().find((e) => e.type === 'error');
    expect(error?.type === 'error' && [error.error.code, error.error.message]).toEqual([
      'REJECTED',
      `The server wants each append to carry at least ${8 * MiB} and at most ${4 * MiB} bytes (Upload-Limit): no append short of the end can`,
    ]);

    const small = engineKit();
    small.transport.limits = { min: 8 * MiB, max: 4 * MiB };
    expect(await appendSizes(small, 3 * MiB)).toEqual({ state: 'done', sizes: [3 * MiB] });
  });

  it('a min-append-size above the most one request carries: REJECTED, unless the rest fits one completing append', async () => {
    const chunk = { maxBytesWithoutDigest: 8 * MiB };
    const refused = engineKit({ chunk });
    refused.transport.limits = { min: 10 * MiB };
    expect(await appendSizes(refused, 20 * MiB)).toEqual({ state: 'failed', sizes: [] });
    const error = refused.events().find((e) => e.type === 'error');
    expect(error?.type === 'error' && error.error.message).toBe(`The server wants each append to carry at least ${10 * MiB} bytes (Upload-Limit min-append-size), more than the ${8 * MiB} this worker puts in one request`);

    const small = engineKit({ chunk });
    small.transport.limits = { min: 10 * MiB };
    expect(await appendSizes(small, 7 * MiB)).toEqual({ state: 'done', sizes: [7 * MiB] });
  });

  it('bounds that change mid-upload: the slice hashed ahead under the old ones is not sent; the next append fits the new', async () => {
    const kit = engineKit({ digest: true });
    kit.transport.appendsAtZero = true;
    const view = await kit.add(10 * MiB, 'changing.bin');
    const first = await kit.transport.next();
    expect(first.chunk!.body.size).toBe(1 * MiB); // digests per chunk: 1 MiB first, the next (4 MiB) hashed meanwhile
    await settle();
    kit.transport.limits = { max: 512 * 1024 }; // the server now takes at most 512 KiB per append
    first.respond(at(1 * MiB));
    acknowledgeAppends(kit, 10 * MiB);
    await kit.engine.whenIdle();
    expect(kit.view(view.id).state).toBe('done');
    const later = kit.transport.calls.filter((c) => c.kind === 'append').slice(1).map((c) => c.chunk!.body.size);
    expect(Math.max(...later)).toBe(512 * 1024);
    expect(later.reduce((a, b) => a + b, 0)).toBe(9 * MiB);
  });

  it('bounds that change mid-upload: a completing slice hashed ahead is not sent over the new max either', async () => {
    const kit = engineKit({ digest: true });
    kit.transport.appendsAtZero = true;
    const view = await kit.add(2 * MiB, 'changing-last.bin');
    const first = await kit.transport.next();
    expect(first.chunk!.body.size).toBe(1 * MiB); // the completing 1 MiB hashed meanwhile
    await settle();
    kit.transport.limits = { max: 512 * 1024 };
    first.respond(at(1 * MiB));
    acknowledgeAppends(kit, 2 * MiB);
    await kit.engine.whenIdle();
    expect(kit.view(view.id).state).toBe('done');
    expect(kit.transport.calls.filter((c) => c.kind === 'append').map((c) => c.chunk!.body.size)).toEqual([1 * MiB, 512 * 1024, 512 * 1024]);
  });
});
