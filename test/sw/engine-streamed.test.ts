// Streamed uploads: where the server reports what it made durable of a request in flight (status/
// slice GET /progress), one request carries the rest of the file and polling shows the confirmed
// bytes. The loop step by step, on a fake clock, against a scripted transport.
import { afterEach, describe, expect, it, vi } from 'vitest';
import { UploadError, type UploadEvent } from '../../src/protocol/index.js';
import { PROGRESS_POLL_MS, PROGRESS_STEP_BYTES } from '../../sw/upload-loop.js';
import { fileDigest, makeBytes } from '../helpers/hash.js';
import { settle } from './kit/fake-clock.js';
import { at, type Call } from './kit/scripted-transport.js';
import { engineKit, type EngineKit } from './kit/engine-kit.js';

const MiB = 1024 * 1024;

/** A streaming server that holds nothing yet; the test drives the requests. */
function streamingKit(options: Parameters<typeof engineKit>[0] = {}): EngineKit {
  const kit = engineKit(options);
  kit.transport.appendsAtZero = true;
  kit.transport.streaming = true;
  return kit;
}

function confirmed(events: UploadEvent[], id: string): number[] {
  return events.flatMap((e) => (e.type === 'progress' && e.upload.id === id ? [e.upload.offset] : []));
}

async function nextOf(kit: EngineKit, kind: Call['kind']): Promise<Call> {
  const call = await kit.transport.next();
  expect(call.kind).toBe(kind);
  return call;
}

afterEach(() => {
  vi.restoreAllMocks();
});

describe('streamed uploads (the server reports a request in flight)', () => {
  it('a new 40 MiB file: asked once without taking over, then one request from byte 0 whose confirmed bytes are polled, never backwards', async () => {
    const kit = streamingKit();
    const bytes = makeBytes(40 * MiB, 3);
    const view = await kit.add(bytes);
    // Too big to risk unasked: what the server holds of it, taking nothing over.
    (await nextOf(kit, 'progress')).respond(at(0));
    const append = await nextOf(kit, 'append');
    expect(append.chunk).toMatchObject({ start: 0 });
    expect(append.chunk?.body.size).toBe(bytes.length);
    expect(append.chunk?.completeLater).toBeUndefined();
    // While it runs, the confirmed bytes come from polling.
    for (const [offset, shown] of [
      [8 * MiB, 8 * MiB],
      [24 * MiB, 24 * MiB],
      [16 * MiB, 24 * MiB], // an answer that went backwards is not shown
    ] as const) {
      await kit.clock.advance(PROGRESS_POLL_MS);
      (await nextOf(kit, 'progress')).respond(at(offset));
      await settle();
      expect(kit.view(view.id).offset).toBe(shown);
    }
    await kit.clock.advance(PROGRESS_POLL_MS);
    const late = await nextOf(kit, 'progress'); // still out when the request's answer comes
    append.respond(at(bytes.length, true));
    await settle();
    late.respond(at(32 * MiB));
    await kit.clock.advance(10 * PROGRESS_POLL_MS);
    expect(kit.view(view.id)).toMatchObject({ state: 'done', offset: bytes.length });
    expect(kit.transport.calls.filter((c) => c.kind === 'progress')).toHaveLength(5); // none after the answer
    const offsets = confirmed(kit.events(), view.id);
    expect(offsets).toEqual([...offsets].sort((a, b) => a - b));
    expect(offsets).toContain(24 * MiB);
  });

  it('a file of at most 16 MiB goes whole at once, unasked; a server not known yet is asked first whether it streams', async () => {
    const kit = streamingKit();
    kit.transport.streaming = undefined;
    const bytes = makeBytes(10 * MiB, 4);
    const view = await kit.add(bytes);
    (await nextOf(kit, 'progress')).respond(at(0));
    kit.transport.streaming = true; // what the real transport learns from that answer
    const append = await nextOf(kit, 'append');
    expect(append.chunk?.body.size).toBe(bytes.length);
    append.respond(at(bytes.length, true));
    await settle();
    expect(kit.view(view.id).state).toBe('done');
    const second = await kit.add(bytes.subarray(0, 5 * MiB));
    (await nextOf(kit, 'append')).respond(at(5 * MiB, true)); // known now: not asked again
    await settle();
    expect(kit.view(second.id).state).toBe('done');
  });

  it('a server without GET /progress: chunks as before', async () => {
    const kit = streamingKit();
    kit.transport.streaming = undefined;
    const view = await kit.add(makeBytes(40 * MiB, 5));
    (await nextOf(kit, 'progress')).respond({ kind: 'unsupported' });
    const append = await nextOf(kit, 'append');
    expect(append.chunk?.body.size).toBeLessThan(40 * MiB);
    append.respond(at(append.chunk!.body.size));
    await settle();
    // No polling while chunks run.
    await kit.clock.advance(5 * PROGRESS_POLL_MS);
    expect(kit.transport.calls.filter((c) => c.kind === 'progress')).toHaveLength(1);
    expect(kit.view(view.id).state).toBe('uploading');
  });

  it('an untouched upload the server already holds part of: asked with the takeover status, then the rest in one request', async () => {
    const kit = streamingKit();
    const bytes = makeBytes(40 * MiB, 6);
    const view = await kit.add(bytes);
    (await nextOf(kit, 'progress')).respond(at(6 * MiB));
    (await nextOf(kit, 'status')).respond(at(6 * MiB));
    const append = await nextOf(kit, 'append');
    expect(append.chunk?.start).toBe(6 * MiB);
    expect(append.chunk?.body.size).toBe(34 * MiB);
    append.respond(at(bytes.length, true));
    await settle();
    expect(kit.view(view.id).state).toBe('done');
  });

  it('file digest still being computed: the body goes without it, asking the server not to complete; a body-less append carries the digest', async () => {
    // Hold Web Crypto's SHA-256 until the test lets it go: the digest is not ready when the body leaves.
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    const real = crypto.subtle.digest.bind(crypto.subtle);
    vi.spyOn(crypto.subtle, 'digest').mockImplementation(async (...args: Parameters<SubtleCrypto['digest']>) => {
      await gate;
      return real(...args);
    });
    const kit = streamingKit({ digest: true });
    kit.transport.fileDigests = true;
    const bytes = makeBytes(12 * MiB, 7);
    const view = await kit.add(bytes);
    const body = await nextOf(kit, 'append');
    expect(body.chunk).toMatchObject({ start: 0, completeLater: true });
    expect(body.chunk?.body.size).toBe(bytes.length); // not a held-back last piece
    expect(body.chunk?.fileDigest).toBeUndefined();
    await kit.clock.advance(PROGRESS_POLL_MS);
    const late = await nextOf(kit, 'progress');
    // A poll's answer and the body's in the same turn: the poll's lower count must not be shown
    // once the request has answered (the request's answer speaks for it).
    late.respond(at(4 * MiB));
    body.respond(at(bytes.length, false));
    await settle();
    expect(kit.view(view.id)).toMatchObject({ state: 'uploading', offset: bytes.length });
    expect(confirmed(kit.events(), view.id).every((o, i, all) => i === 0 || o >= all[i - 1]!)).toBe(true);
    release();
    const last = await nextOf(kit, 'append');
    expect(last.chunk).toMatchObject({ start: bytes.length });
    expect(last.chunk?.body.size).toBe(0);
    expect(last.chunk?.completeLater).toBeUndefined();
    expect(`:${last.chunk?.fileDigest}:`).toBe(fileDigest(bytes));
    last.respond(at(bytes.length, true));
    await settle();
    expect(kit.view(view.id).state).toBe('done');
  });

  it('the digest known before the body leaves: one request carries it and completes', async () => {
    const kit = streamingKit({ digest: true });
    kit.transport.fileDigests = true;
    const bytes = makeBytes(40 * MiB, 8);
    const view = await kit.add(bytes);
    const probe = await nextOf(kit, 'progress');
    // Let the digest finish (real Web Crypto) before answering, so the body can carry it.
    await vi.waitFor(async () => expect((await kit.store.list()).find((r) => r.id === view.id)?.fileDigest).toBeDefined(), { timeout: 20_000, interval: 20 });
    probe.respond(at(0));
    const append = await nextOf(kit, 'append');
    expect(append.chunk?.body.size).toBe(bytes.length);
    expect(append.chunk?.completeLater).toBeUndefined();
    expect(`:${append.chunk?.fileDigest}:`).toBe(fileDigest(bytes));
    append.respond(at(bytes.length, true));
    await settle();
    expect(kit.view(view.id).state).toBe('done');
  });

  it('chunk digests (integrity: chunks) never stream: the body is all or nothing', async () => {
    const kit = streamingKit({ digest: true, integrity: 'chunks' });
    const view = await kit.add(makeBytes(20 * MiB, 9));
    const append = await nextOf(kit, 'append');
    expect(append.chunk?.sha256).toBeDefined();
    expect(append.chunk?.body.size).toBeLessThanOrEqual(16 * MiB);
    await kit.clock.advance(5 * PROGRESS_POLL_MS);
    expect(kit.transport.calls.some((c) => c.kind === 'progress')).toBe(false);
    expect(kit.view(view.id).state).toBe('uploading');
  });

  it('a server known to stream whose probe gets no answer: the status is asked, and the rest still goes in one request', async () => {
    const kit = streamingKit();
    const view = await kit.add(makeBytes(40 * MiB, 11));
    (await nextOf(kit, 'progress')).respond({ kind: 'failed', error: new UploadError('NETWORK', 'GET /progress failed') });
    (await nextOf(kit, 'status')).respond(at(0));
    const append = await nextOf(kit, 'append');
    expect(append.chunk?.body.size).toBe(40 * MiB);
    append.respond(at(40 * MiB, true));
    await settle();
    expect(kit.view(view.id).state).toBe('done');
  });

  it('a server that answers the polls but confirms nothing for the stall time: the request is aborted as TIMEOUT (a fetch reports no bytes sent)', async () => {
    const kit = streamingKit({ timeouts: { baseMs: 10_000 } });
    const view = await kit.add(makeBytes(40 * MiB, 12)); // its own deadline by size: 650 s
    (await nextOf(kit, 'progress')).respond(at(0));
    const append = await nextOf(kit, 'append');
    kit.transport.respondWith((call) => (call.kind === 'progress' ? at(2 * MiB) : undefined));
    // 10 s plus 16 MiB at the slowest tolerated 64 KiB/s: 266 s without a move.
    const stallMs = 10_000 + (PROGRESS_STEP_BYTES * 1000) / (64 * 1024);
    await kit.clock.advance(stallMs - 2 * PROGRESS_POLL_MS);
    expect(kit.view(view.id)).toMatchObject({ state: 'uploading', offset: 2 * MiB });
    await kit.clock.advance(3 * PROGRESS_POLL_MS);
    expect(await append.answered).toEqual({ kind: 'aborted' });
    await settle();
    expect(kit.view(view.id)).toMatchObject({ state: 'waiting', offset: 2 * MiB, error: { code: 'TIMEOUT' } });
    expect(kit.view(view.id).error?.message).toContain('stood still');
  });

  it('confirmed bytes that never move (a proxy holding the body back until its end): no stall abort; once the body lands whole, this server gets chunks', async () => {
    const kit = streamingKit({ timeouts: { baseMs: 10_000 } });
    const bytes = makeBytes(40 * MiB, 13);
    const view = await kit.add(bytes);
    (await nextOf(kit, 'progress')).respond(at(0));
    const append = await nextOf(kit, 'append');
    kit.transport.respondWith((call) => (call.kind === 'progress' ? at(0) : undefined));
    await kit.clock.advance(300_000); // past the stall time (266 s here): the polls never saw a move
    expect(kit.view(view.id)).toMatchObject({ state: 'uploading', offset: 0 });
    expect(kit.transport.unstreamedFor).toEqual([]);
    append.respond(at(bytes.length, true));
    await settle();
    expect(kit.view(view.id).state).toBe('done');
    expect(kit.transport.unstreamedFor).toEqual([view.id]);
    kit.transport.respondWith(undefined);
    await kit.add(makeBytes(40 * MiB, 14), 'second.bin');
    const next = await nextOf(kit, 'append');
    expect(next.chunk?.body.size).toBeLessThan(40 * MiB); // chunks: their answers show progress
  });

  it('the whole body confirmed: no stall abort while the server completes the upload (a long digest check, an S3 completion)', async () => {
    const kit = streamingKit({ timeouts: { baseMs: 10_000 } });
    const bytes = makeBytes(40 * MiB, 15);
    const view = await kit.add(bytes);
    (await nextOf(kit, 'progress')).respond(at(0));
    const append = await nextOf(kit, 'append');
    kit.transport.respondWith((call) => (call.kind === 'progress' ? at(bytes.length) : undefined));
    await kit.clock.advance(400_000);
    expect(kit.view(view.id)).toMatchObject({ state: 'uploading', offset: bytes.length });
    expect(kit.transport.calls.filter((c) => c.kind === 'progress')).toHaveLength(2); // the probe, one poll: then it stopped asking
    append.respond(at(bytes.length, true));
    await settle();
    expect(kit.view(view.id).state).toBe('done');
    expect(kit.transport.unstreamedFor).toEqual([]);
  });

  it('a pause stops the polling with the request', async () => {
    const kit = streamingKit();
    const view = await kit.add(makeBytes(10 * MiB, 10));
    const append = await nextOf(kit, 'append');
    await kit.clock.advance(PROGRESS_POLL_MS);
    (await nextOf(kit, 'progress')).respond(at(4 * MiB));
    await settle();
    expect(kit.view(view.id).offset).toBe(4 * MiB);
    await kit.engine.handle({ type: 'pause', uploadId: view.id });
    await settle();
    expect(await append.answered).toEqual({ kind: 'aborted' });
    const before = kit.transport.calls.length;
    await kit.clock.advance(10 * PROGRESS_POLL_MS);
    expect(kit.transport.calls.length).toBe(before);
    expect(kit.view(view.id)).toMatchObject({ state: 'paused', offset: 4 * MiB });
  });
});
