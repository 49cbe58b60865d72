// While a page carries the requests (its XHR reports the bytes sent), a file within one request's
// cap goes whole from byte 0: as the page's File, which Chromium sends straight from disk. Without
// a page, or from a later offset, the loop cuts chunks as before.
import { describe, expect, it } from 'vitest';
import { MiB } from '../../sw/chunk-size.js';
import { engineKit } from './kit/engine-kit.js';
import { settle } from './kit/fake-clock.js';
import { at, type Call } from './kit/scripted-transport.js';

/** Answers each append with the offset it reached; the one reaching `size` completes the upload. */
const appendsUpTo = (size: number) => (call: Call) => {
  if (call.kind !== 'append') return undefined;
  const reached = call.chunk!.start + call.chunk!.body.size;
  return at(reached, reached === size);
};

/** Uploads a file of `size` to the end, every append answered; the requests made. */
async function uploadAll(kit: ReturnType<typeof engineKit>, size: number, name: string): Promise<Call[]> {
  kit.transport.respondWith(appendsUpTo(size));
  const view = await kit.add(size, name);
  await kit.engine.whenIdle();
  expect(kit.view(view.id).state).toBe('done');
  return kit.transport.calls;
}

function pageCarried(options: Parameters<typeof engineKit>[0] = {}) {
  const kit = engineKit(options);
  kit.transport.appendsAtZero = true;
  kit.transport.sendsReported = true;
  return kit;
}

describe('a file sent whole while a page carries the requests', () => {
  it('a file too big to go unasked: the server is asked first, then the whole file goes in one append, as the File the page handed over', async () => {
    const kit = pageCarried();
    const adding = kit.add(17 * MiB, 'big.bin');
    const status = await kit.transport.next();
    expect(status.kind).toBe('status');
    status.respond(at(0));
    const append = await kit.transport.next();
    expect(append.kind).toBe('append');
    expect(append.chunk!.start).toBe(0);
    expect(append.chunk!.body.size).toBe(17 * MiB);
    expect(append.chunk!.body).toBeInstanceOf(File); // the picked File itself, not a slice of it
    append.respond(at(17 * MiB, true));
    const view = await adding;
    await kit.engine.whenIdle();
    expect(kit.view(view.id).state).toBe('done');
    expect(kit.transport.calls.map((c) => c.kind)).toEqual(['status', 'append']);
  });

  it('a file that may go unasked goes whole in the first request, without asking', async () => {
    const kit = pageCarried();
    const calls = await uploadAll(kit, 10 * MiB, 'mid.bin');
    expect(calls.map((c) => [c.kind, c.chunk?.start, c.chunk?.body.size])).toEqual([['append', 0, 10 * MiB]]);
  });

  it('the server already holds bytes: the rest goes in chunks from its offset', async () => {
    const kit = pageCarried();
    kit.transport.respondWith((call) => (call.kind === 'status' ? at(6 * MiB) : appendsUpTo(40 * MiB)(call)));
    const view = await kit.add(40 * MiB, 'resumed.bin');
    await kit.engine.whenIdle();
    expect(kit.view(view.id).state).toBe('done');
    const appends = kit.transport.calls.filter((c) => c.kind === 'append');
    expect(appends[0]!.chunk!.start).toBe(6 * MiB);
    expect(appends[0]!.chunk!.body.size).toBeLessThan(34 * MiB);
  });

  it('without a page (a worker’s fetch reports nothing sent) the file goes in chunks', async () => {
    const kit = engineKit();
    kit.transport.appendsAtZero = true;
    const calls = await uploadAll(kit, 10 * MiB, 'alone.bin');
    expect(calls[0]!.chunk!.body.size).toBe(4 * MiB);
  });

  it('a file over one request’s cap goes in chunks, page or not', async () => {
    const kit = pageCarried({ chunk: { maxBytesWithoutDigest: 8 * MiB } });
    const calls = await uploadAll(kit, 10 * MiB, 'capped.bin');
    expect(calls[0]!.chunk!.body.size).toBe(4 * MiB);
  });

  it('with a digest per chunk the file goes in chunks, page or not', async () => {
    const kit = pageCarried({ digest: true, integrity: 'chunks' });
    const calls = await uploadAll(kit, 10 * MiB, 'hashed.bin');
    const first = calls[0]!.chunk!;
    expect(first.sha256).toBeDefined();
    expect(first.body.size).toBeLessThan(10 * MiB);
  });

  it('a body whose bytes stop moving for baseMs times out, long before its deadline by size; one that reports nothing, or all its bytes, does not', async () => {
    const kit = pageCarried();
    const view = await kit.add(10 * MiB, 'stalled.bin');
    const append = await kit.transport.next();
    expect(append.chunk!.body.size).toBe(10 * MiB);
    await kit.clock.advance(60_000); // nothing reported sent: the watch is not armed
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
    await kit.clock.advance(60_000);
    expect(again.ctx.signal.aborted).toBe(false);
  });

  it('a server’s limit per append (IETF max-append-size) caps every append, whole file or chunk, remainder included', async () => {
    for (const carried of [true, false]) {
      const kit = carried ? pageCarried() : engineKit();
      kit.transport.appendsAtZero = true;
      kit.transport.maxAppend = 3 * MiB;
      const calls = await uploadAll(kit, 10 * MiB, 'limited.bin');
      const sizes = calls.filter((c) => c.kind === 'append').map((c) => c.chunk!.body.size);
      expect(Math.max(...sizes)).toBeLessThanOrEqual(3 * MiB);
      expect(sizes.reduce((a, b) => a + b, 0)).toBe(10 * MiB);
    }
  });
});

