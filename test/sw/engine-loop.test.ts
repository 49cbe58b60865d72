// The upload loop step by step: the test answers each request the engine makes, on a fake clock.
import { describe, expect, it } from 'vitest';
import { UploadError, sha256Base64 } from '../../src/protocol/index.js';
import { fileDigest, makeBytes } from '../helpers/hash.js';
import { MemoryRecordStore } from '../../sw/memory-record-store.js';
import { settle } from './kit/fake-clock.js';
import { at } from './kit/scripted-transport.js';
import { engineKit } from './kit/engine-kit.js';

const KiB = 1024;
const fixedChunks = { initialBytes: 64 * KiB, minBytes: 64 * KiB, maxBytes: 64 * KiB, maxBytesWithoutDigest: 64 * KiB, granularity: 64 * KiB };

describe('the upload loop', () => {
  it('asks the status first, then sends slices from the offset the server gives, each with its SHA-256 (integrity: chunks)', async () => {
    const kit = engineKit({ digest: true, integrity: 'chunks', chunk: fixedChunks });
    const bytes = new Uint8Array(150 * KiB).map((_, i) => (i * 7) & 255);
    const view = await kit.add(bytes);
    let call = await kit.transport.next();
    expect(call.kind).toBe('status');
    call.respond(at(10 * KiB)); // the server already holds some: start there, not at the stored 0
    for (const [start, end] of [
      [10 * KiB, 74 * KiB],
      [74 * KiB, 138 * KiB],
      [138 * KiB, 150 * KiB],
    ] as const) {
      call = await kit.transport.next();
      expect(call.kind).toBe('append');
      expect(call.chunk?.start).toBe(start);
      expect(call.chunk?.body.size).toBe(end - start);
      expect(call.chunk?.sha256).toBe(await sha256Base64(bytes.subarray(start, end)));
      call.respond(at(end, end === bytes.length));
    }
    await settle();
    expect(kit.view(view.id)).toMatchObject({ state: 'done', offset: bytes.length, attempts: 0 });
    expect(kit.events().filter((e) => e.type === 'complete').map((e) => e.type === 'complete' && e.upload.id)).toEqual([view.id]);
    expect(await kit.store.file((await kit.store.list())[0]!)).toBeUndefined(); // the file is dropped once done
  });

  it('integrity: file — chunks carry no digest and grow past the digest cap; the last one carries the whole-file digest', async () => {
    const kit = engineKit({ digest: true, chunk: { initialBytes: 64 * KiB, minBytes: 64 * KiB, maxBytes: 64 * KiB, maxBytesWithoutDigest: 64 * 1024 * KiB, granularity: 64 * KiB } });
    kit.transport.fileDigests = true;
    const bytes = makeBytes(20 * 1024 * KiB, 9);
    kit.transport.respondWith((call) => {
      if (call.kind === 'status') return at(0);
      const end = call.chunk!.start + call.chunk!.body.size;
      // Answered at once on the fake clock: a fast link, so each chunk is bigger than the last.
      return at(end, end === bytes.length);
    });
    const view = await kit.add(bytes);
    await kit.clock.until(() => kit.view(view.id).state === 'done', 60_000);
    const appends = kit.transport.calls.filter((c) => c.kind === 'append');
    expect(appends.every((c) => c.chunk?.sha256 === undefined)).toBe(true);
    expect(Math.max(...appends.map((c) => c.chunk!.body.size))).toBeGreaterThan(64 * KiB);
    expect(appends.slice(0, -1).every((c) => c.chunk?.fileDigest === undefined)).toBe(true);
    expect(`:${appends.at(-1)!.chunk!.fileDigest}:`).toBe(fileDigest(bytes));
  });

  it('the server finds the whole file damaged: the upload starts over from 0 with a digest per chunk', async () => {
    const kit = engineKit({ digest: true, chunk: fixedChunks });
    kit.transport.fileDigests = true;
    const bytes = makeBytes(100 * KiB, 10);
    let refused = false;
    kit.transport.respondWith((call) => {
      if (call.kind === 'status') return at(0);
      const end = call.chunk!.start + call.chunk!.body.size;
      if (end === bytes.length && !refused) {
        refused = true;
        return { kind: 'failed', error: new UploadError('CORRUPTED', 'HTTP 422: the bytes received do not match', { status: 422, serverCode: 'FILE_DIGEST_MISMATCH' }) };
      }
      return at(end, end === bytes.length);
    });
    const view = await kit.add(bytes);
    await kit.clock.until(() => kit.view(view.id).state === 'done', 60_000);
    const appends = kit.transport.calls.filter((c) => c.kind === 'append');
    const again = appends.slice(appends.findIndex((c) => c.chunk?.fileDigest !== undefined) + 1);
    expect(again[0]?.chunk?.start).toBe(0);
    expect(again.every((c) => c.chunk?.sha256 !== undefined && c.chunk.fileDigest === undefined)).toBe(true);
  });

  it('a 409 is a re-sync, not a failure: the next slice starts where the server says', async () => {
    const kit = engineKit({ chunk: fixedChunks });
    const view = await kit.add(200 * KiB);
    (await kit.transport.next()).respond(at(0));
    const first = await kit.transport.next();
    // A replayed POST landed meanwhile: the server holds more than the request assumed.
    first.respond({ kind: 'conflict', offset: 100 * KiB, complete: false });
    const second = await kit.transport.next();
    expect(second.chunk?.start).toBe(100 * KiB);
    second.respond({ kind: 'conflict', offset: undefined, complete: false });
    // A 409 that does not say where the server is: ask.
    const status = await kit.transport.next();
    expect(status.kind).toBe('status');
    status.respond(at(200 * KiB, true));
    await settle();
    expect(kit.view(view.id).state).toBe('done');
    expect(kit.view(view.id).attempts).toBe(0);
  });

  it('a server that keeps answering the same offset is given up on for now (SERVER), then retried', async () => {
    const kit = engineKit({ chunk: fixedChunks });
    kit.transport.respondWith(() => at(0));
    const view = await kit.add(100 * KiB);
    expect(kit.view(view.id)).toMatchObject({ state: 'waiting', error: { code: 'SERVER' } });
    // The status, then five slices that got nowhere.
    expect(kit.transport.calls.map((c) => c.kind)).toEqual(['status', 'append', 'append', 'append', 'append', 'append']);
  });

  it('a server that never answers: the request times out (TIMEOUT) into waiting, its signal aborted', async () => {
    const kit = engineKit({ timeouts: { baseMs: 30_000, minBytesPerSecond: 64 * KiB } });
    const view = await kit.add(10);
    const call = await kit.transport.next();
    await kit.clock.advance(29_999);
    expect(call.ctx.signal.aborted).toBe(false);
    await kit.clock.advance(1);
    expect(call.ctx.signal.aborted).toBe(true);
    expect(kit.view(view.id)).toMatchObject({ state: 'waiting', error: { code: 'TIMEOUT' } });
    expect(kit.view(view.id).error?.message).toBe("Timed out: the server did not answer within 30 s");
  });

  it('a chunk gets more time the bigger it is (30 s + the body at 64 KiB/s)', async () => {
    const kit = engineKit({ chunk: { initialBytes: 640 * KiB, minBytes: 640 * KiB, maxBytes: 640 * KiB, maxBytesWithoutDigest: 640 * KiB, granularity: 64 * KiB } });
    const view = await kit.add(640 * KiB);
    (await kit.transport.next()).respond(at(0));
    const append = await kit.transport.next();
    await kit.clock.advance(39_999);
    expect(append.ctx.signal.aborted).toBe(false);
    await kit.clock.advance(1);
    expect(kit.view(view.id).error?.code).toBe('TIMEOUT');
  });

  it('pause aborts the request in flight; a late answer changes nothing; resume asks the status first', async () => {
    const kit = engineKit({ chunk: fixedChunks });
    const view = await kit.add(100 * KiB);
    (await kit.transport.next()).respond(at(0));
    const append = await kit.transport.next();
    const paused = await kit.engine.handle({ type: 'pause', uploadId: view.id });
    expect(paused.state).toBe('paused');
    expect(append.ctx.signal.aborted).toBe(true);
    append.respond(at(64 * KiB)); // too late: already aborted
    await kit.clock.advance(10 * 60_000);
    expect(kit.view(view.id).state).toBe('paused');
    expect(kit.transport.calls).toHaveLength(2);
    await kit.engine.handle({ type: 'resume', uploadId: view.id });
    const status = await kit.transport.next();
    expect(status.kind).toBe('status');
    status.respond(at(100 * KiB, true));
    await settle();
    expect(kit.view(view.id).state).toBe('done');
  });

  it('cancel: the request in flight is aborted before the DELETE goes out; the file is dropped', async () => {
    const kit = engineKit({ chunk: fixedChunks });
    const view = await kit.add(100 * KiB);
    (await kit.transport.next()).respond(at(0));
    const append = await kit.transport.next();
    const cancelling = kit.engine.handle({ type: 'cancel', uploadId: view.id });
    const del = await kit.transport.next();
    expect(append.ctx.signal.aborted).toBe(true);
    expect(del.kind).toBe('cancel');
    del.respond({ kind: 'offset', offset: 0, complete: false });
    expect((await cancelling).state).toBe('cancelled');
    expect(await kit.store.file((await kit.store.list())[0]!)).toBeUndefined();
    await kit.clock.advance(60_000);
    expect(kit.transport.calls).toHaveLength(3);
  });

  it('cancel with an unreachable server still cancels, after the DELETE times out', async () => {
    const kit = engineKit({ cancelTimeoutMs: 5_000 });
    kit.transport.respondWith((call) => (call.kind === 'status' ? { kind: 'failed', error: new UploadError('NETWORK', 'down') } : undefined));
    const view = await kit.add(10);
    const cancelling = kit.engine.handle({ type: 'cancel', uploadId: view.id });
    const del = await kit.transport.next();
    await kit.clock.advance(5_000);
    expect(del.ctx.signal.aborted).toBe(true);
    expect((await cancelling).state).toBe('cancelled');
  });

  it('cancel with a headers hook that never answers: the DELETE goes with the stored headers once the cancel’s deadline passes', async () => {
    let hangs = false;
    const kit = engineKit({ cancelTimeoutMs: 5_000, headers: () => (hangs ? new Promise<Record<string, string>>(() => undefined) : {}) });
    kit.transport.respondWith((call) => (call.kind === 'status' ? { kind: 'failed', error: new UploadError('NETWORK', 'down') } : undefined));
    const view = await kit.add(10, 'file.bin', { Authorization: 'Bearer kept' });
    hangs = true;
    const cancelling = kit.engine.handle({ type: 'cancel', uploadId: view.id });
    await kit.clock.advance(5_000);
    const del = await kit.transport.next();
    expect(del.kind).toBe('cancel');
    expect(del.ctx.headers).toMatchObject({ Authorization: 'Bearer kept' });
    expect((await cancelling).state).toBe('cancelled');
  });

  it('a run whose headers hook never answers: a pause ends it at once; left alone, it times out after baseMs and is retried', async () => {
    let hangs = true;
    const kit = engineKit({ headers: () => (hangs ? new Promise<Record<string, string>>(() => undefined) : {}) });
    const view = await kit.add(10, 'file.bin');
    expect(kit.transport.calls).toHaveLength(0); // the first request waits for its headers
    const paused = await kit.engine.handle({ type: 'pause', uploadId: view.id });
    expect(paused.state).toBe('paused');
    await kit.engine.handle({ type: 'resume', uploadId: view.id });
    await kit.clock.advance(29_000);
    expect(kit.view(view.id).error).toBeUndefined();
    await kit.clock.advance(1_000);
    expect(kit.view(view.id).error).toMatchObject({ code: 'TIMEOUT', message: 'Timed out: the headers hook did not answer within 30 s' });
    hangs = false;
    while (kit.transport.calls.length === 0) await kit.clock.advance(1_000); // the retry's backoff
    (await kit.transport.next()).respond(at(10, true));
    await kit.engine.whenIdle();
    expect(kit.view(view.id).state).toBe('done');
  });

  it('an error shows only while it is current: the first answer from the server clears it', async () => {
    const kit = engineKit({ chunk: fixedChunks });
    kit.transport.respondWith(() => ({ kind: 'failed', error: new UploadError('NETWORK', 'down') }));
    const view = await kit.add(100 * KiB);
    expect(kit.view(view.id).error?.code).toBe('NETWORK');
    kit.transport.respondWith(undefined);
    await kit.clock.advance(750);
    expect(kit.view(view.id)).toMatchObject({ state: 'uploading', error: { code: 'NETWORK' } });
    (await kit.transport.next()).respond(at(0));
    await settle();
    expect(kit.view(view.id).state).toBe('uploading');
    expect(kit.view(view.id).error).toBeUndefined();
    const cleared = kit.events().filter((e) => e.type === 'state' && e.upload.id === view.id).at(-1);
    expect(cleared?.type === 'state' && cleared.upload.error).toBeUndefined();
  });

  it('a worker restart: uploads it was running start again from the server status', async () => {
    const store = new MemoryRecordStore();
    const first = engineKit({ store, chunk: fixedChunks });
    const view = await first.add(100 * KiB);
    (await first.transport.next()).respond(at(0));
    await first.transport.next(); // a chunk in flight when the worker dies
    const second = engineKit({ store });
    second.transport.respondWith((call) => (call.kind === 'status' ? at(64 * KiB) : at(100 * KiB, true)));
    await second.engine.start();
    await settle();
    expect(second.transport.calls.map((c) => c.kind)).toEqual(['status', 'append']);
    expect(second.transport.calls[1]?.chunk?.start).toBe(64 * KiB);
    expect(second.view(view.id).state).toBe('done');
  });

  it('a file gone from storage: done when the server has it all, else failed (never silently lost)', async () => {
    const kit = engineKit();
    kit.transport.respondWith(() => ({ kind: 'failed', error: new UploadError('NETWORK', 'down') }));
    const complete = await kit.add(10, 'complete.bin');
    const partial = await kit.add(10, 'partial.bin');
    await kit.store.dropFile(complete.id);
    await kit.store.dropFile(partial.id);
    kit.transport.respondWith((call) => (call.upload.name === 'complete.bin' ? at(10, true) : at(3)));
    await kit.clock.advance(2_000);
    expect(kit.view(complete.id).state).toBe('done');
    expect(kit.view(partial.id)).toMatchObject({ state: 'failed', error: { code: 'REJECTED' } });
  });

  it('the same file added twice is one upload', async () => {
    const kit = engineKit();
    kit.transport.respondWith(() => ({ kind: 'failed', error: new UploadError('NETWORK', 'down') }));
    const a = await kit.add(10, 'same.bin');
    const b = await kit.add(10, 'same.bin');
    expect(b.id).toBe(a.id);
    expect(kit.engine.views()).toHaveLength(1);
  });
});

describe('the link rate carries over to the next upload', () => {
  const rampy = { minBytes: 64 * KiB, maxBytes: 1024 * KiB, maxBytesWithoutDigest: 8 * 1024 * KiB, initialBytes: 64 * KiB, initialBytesWithoutDigest: 64 * KiB, targetMs: 1_000, smoothing: 1, granularity: 64 * KiB };

  /** Answers every request once `ms` passed on the fake clock: a link of a known speed. */
  async function sendAll(kit: ReturnType<typeof engineKit>, id: string, size: number, ms: number): Promise<number[]> {
    const sizes: number[] = [];
    while (kit.view(id).state !== 'done') {
      const call = await kit.transport.next();
      if (call.kind === 'status') {
        call.respond(at(0));
        continue;
      }
      sizes.push(call.chunk!.body.size);
      await kit.clock.advance(ms);
      const end = call.chunk!.start + call.chunk!.body.size;
      call.respond(at(end, end === size));
      await settle();
    }
    return sizes;
  }

  it('a new upload to the same server starts from the rate measured moments ago, not from the smallest chunk; after 30 s quiet it ramps again', async () => {
    const kit = engineKit({ chunk: rampy });
    const first = await kit.add(1024 * KiB, 'first.bin');
    const firstSizes = await sendAll(kit, first.id, 1024 * KiB, 100); // 64 KiB in 100 ms: 640 KiB/s, then growing
    expect(firstSizes[0]).toBe(64 * KiB);
    const rate = kit.view(first.id).bytesPerSecond!;
    expect(rate).toBeGreaterThan(640 * KiB);
    const second = await kit.add(16 * 1024 * KiB, 'second.bin');
    const secondSizes = await sendAll(kit, second.id, 16 * 1024 * KiB, 100);
    // A chunk of targetMs at the measured rate, on 64 KiB steps.
    expect(secondSizes[0]).toBe(Math.floor(rate / (64 * KiB)) * 64 * KiB);
    await kit.clock.advance(31_000);
    const third = await kit.add(1024 * KiB, 'third.bin');
    expect((await sendAll(kit, third.id, 1024 * KiB, 100))[0]).toBe(64 * KiB);
  });

  it('a rate carried by a run that has timed nothing yet does not count as a fresh measurement', async () => {
    const kit = engineKit({ chunk: rampy, retry: { baseMs: 40_000, maxMs: 40_000, jitter: 0 } });
    const first = await kit.add(4096 * KiB, 'first.bin');
    (await kit.transport.next()).respond(at(0));
    for (let i = 0; i < 3; i++) {
      const call = await kit.transport.next();
      await kit.clock.advance(100);
      call.respond(at(call.chunk!.start + call.chunk!.body.size));
      await settle();
    }
    (await kit.transport.next()).respond({ kind: 'failed', error: new UploadError('NETWORK', 'cut') });
    await settle();
    await kit.clock.advance(41_000); // retried after 40 s: the measured rate is stale, the upload still carries it
    const status = await kit.transport.next();
    expect(status.kind).toBe('status');
    status.respond(at(kit.view(first.id).offset)); // answered, but no chunk timed yet
    await kit.transport.next(); // its next chunk, left in flight
    const second = await kit.add(1024 * KiB, 'second.bin');
    const call = await kit.transport.next();
    expect(call.upload.id).toBe(second.id);
    if (call.kind === 'status') call.respond(at(0));
    const append = call.kind === 'append' ? call : await kit.transport.next();
    expect(append.chunk!.body.size).toBe(64 * KiB); // ramps from the start: no fresh rate known
  });

  it('a new upload that goes at 0 unasked sends at most 16 MiB first, whatever the link rate', async () => {
    const wide = { ...rampy, maxBytesWithoutDigest: 256 * 1024 * KiB, targetMs: 1_500 };
    const kit = engineKit({ chunk: wide });
    const first = await kit.add(4096 * KiB, 'first.bin');
    await sendAll(kit, first.id, 4096 * KiB, 1); // a very fast link
    kit.transport.appendsAtZero = true;
    const second = await kit.add(64 * 1024 * KiB, 'second.bin');
    const call = await kit.transport.next();
    expect(call.upload.id).toBe(second.id);
    expect(call.kind).toBe('append');
    expect(call.chunk!.body.size).toBe(16 * 1024 * KiB);
  });
});
