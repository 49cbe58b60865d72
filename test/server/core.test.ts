// The protocol handler on request values, without sockets, over the memory store.
import { describe, expect, it } from 'vitest';
import { MemoryStore, createUploadCore, type AppendOptions, type CompletedUpload, type UploadRef, type UploadRequest } from '../../server/index.js';
import { retryDelayMs } from '../../server/completions.js';

async function* bodyOf(...parts: string[]): AsyncGenerator<Uint8Array> {
  for (const p of parts) yield new TextEncoder().encode(p);
}

function request(method: string, path: string, headers: Record<string, string>, body = bodyOf(), signal = new AbortController().signal): UploadRequest {
  const lower: Record<string, string> = {};
  for (const [k, v] of Object.entries(headers)) lower[k.toLowerCase()] = v;
  return { method, path, headers: lower, body, signal };
}

describe('status/slice on request values', () => {
  it('runs the chunked flow and reports completion', async () => {
    const storage = new MemoryStore();
    const core = createUploadCore({ storage, sweepIntervalMs: 0 });
    const id = { 'X-File-Id': 'v' };
    let res = await core.handle(request('POST', '/upload', { ...id, 'X-Start-Byte': '0', 'X-File-Size': '10' }, bodyOf('hello')));
    expect(res).toMatchObject({ status: 200, body: '5' });
    expect(res.headers).toMatchObject({ 'X-Upload-Offset': '5', 'X-Upload-Complete': '?0', 'X-File-Size': '10' });
    res = await core.handle(request('POST', '/upload', { ...id, 'X-Start-Byte': '5' }, bodyOf('wor', 'ld')));
    expect(res).toMatchObject({ status: 200, body: '10' });
    expect(res.headers['X-Upload-Complete']).toBe('?1');
    res = await core.handle(request('GET', '/status', id));
    expect(res).toMatchObject({ status: 200, body: '10' });
    core.close();
  });

  it('answers a body that is aborted by a newer request with BUSY and keeps its bytes', async () => {
    const storage = new MemoryStore();
    const core = createUploadCore({ storage, sweepIntervalMs: 0 });
    let release!: () => void;
    const stalled = (async function* () {
      yield new TextEncoder().encode('abc');
      await new Promise<void>((r) => (release = r));
    })();
    const first = core.handle(request('POST', '/upload', { 'X-File-Id': 't', 'X-Start-Byte': '0', 'X-File-Size': '6' }, stalled));
    await new Promise((r) => setTimeout(r, 10));
    const second = await core.handle(request('POST', '/upload', { 'X-File-Id': 't', 'X-Start-Byte': '0' }, bodyOf('abcdef')));
    expect(second).toMatchObject({ status: 409, body: '3' });
    expect(second.headers['X-Error-Code']).toBe('OFFSET_MISMATCH');
    const older = await first;
    expect(older).toMatchObject({ status: 409, body: '3', closeConnection: true });
    expect(older.headers['X-Error-Code']).toBe('BUSY');
    release();
    core.close();
  });

  it('answers a request taken over while it waited for the lock with 409 BUSY and the offset as body', async () => {
    const core = createUploadCore({ storage: new MemoryStore(), sweepIntervalMs: 0 });
    let release!: () => void;
    const stalled = (async function* () {
      yield new TextEncoder().encode('abc');
      await new Promise<void>((r) => (release = r));
    })();
    const headers = { 'X-File-Id': 'w', 'X-Start-Byte': '0', 'X-File-Size': '6' };
    const first = core.handle(request('POST', '/upload', headers, stalled));
    await new Promise((r) => setTimeout(r, 10));
    // The second waits for the first to let go; the third takes over from the waiting second.
    const second = core.handle(request('POST', '/upload', headers, bodyOf('abcdef')));
    const third = core.handle(request('POST', '/upload', headers, bodyOf('abcdef')));
    const waited = await second;
    expect(waited).toMatchObject({ status: 409, body: '3' });
    expect(waited.headers).toMatchObject({ 'X-Error-Code': 'BUSY', 'X-Upload-Offset': '3' });
    expect(await third).toMatchObject({ status: 409, body: '3' });
    expect(await first).toMatchObject({ status: 409, body: '3' });
    release();
    await core.close();
  });

  it('the sweep skips an upload whose writer holds the lock, so its bytes are never lost', async () => {
    let now = Date.now();
    const clock = { now: () => now };
    const core = createUploadCore({ storage: new MemoryStore({ clock }), clock, staleAfterMs: 1000, sweepIntervalMs: 0 });
    const headers = { 'X-File-Id': 's', 'X-File-Size': '6' };
    expect(await core.handle(request('POST', '/upload', { ...headers, 'X-Start-Byte': '0' }, bodyOf('ab')))).toMatchObject({ status: 200, body: '2' });
    // A resume is writing (its body not yet ended) when the upload has gone stale and is swept.
    let release!: () => void;
    const resumed = (async function* () {
      yield new TextEncoder().encode('cd');
      await new Promise<void>((r) => (release = r));
      yield new TextEncoder().encode('ef');
    })();
    const writing = core.handle(request('POST', '/upload', { ...headers, 'X-Start-Byte': '2' }, resumed));
    await new Promise((r) => setTimeout(r, 10));
    now += 5000;
    expect(await core.sweep()).toBe(0);
    release();
    expect(await writing).toMatchObject({ status: 200, body: '6' });
    expect(await core.handle(request('GET', '/status', { 'X-File-Id': 's' }))).toMatchObject({ body: '6', headers: { 'X-Upload-Complete': '?1' } });
    await core.close();
  });

  it('sends the final reply and frees the upload without waiting for a slow onComplete', async () => {
    let finishHook!: () => void;
    const hookDone = new Promise<void>((r) => (finishHook = r));
    const calls: string[] = [];
    const core = createUploadCore({
      storage: new MemoryStore(),
      sweepIntervalMs: 0,
      onComplete: async (info) => {
        calls.push(info.metadata.id);
        await hookDone;
      },
    });
    const final = core.handle(request('POST', '/upload', { 'X-File-Id': 'h', 'X-Start-Byte': '0' }, bodyOf('all')));
    const replied = await Promise.race([final, new Promise((r) => setTimeout(() => r('timed out'), 1000))]);
    expect(replied).toMatchObject({ status: 200, body: '3' });
    // The lock is free: a repeated final POST is answered too.
    const again = await core.handle(request('POST', '/upload', { 'X-File-Id': 'h', 'X-Start-Byte': '3' }));
    expect(again).toMatchObject({ status: 200, body: '3' });
    await new Promise((r) => setTimeout(r, 10));
    expect(calls).toEqual(['h']);
    let closed = false;
    const closing = core.close().then(() => (closed = true));
    await new Promise((r) => setTimeout(r, 10));
    expect(closed).toBe(false);
    finishHook();
    await closing;
  });

  it('routes 404, 405 and OPTIONS', async () => {
    const core = createUploadCore({ storage: new MemoryStore(), sweepIntervalMs: 0 });
    expect((await core.handle(request('GET', '/x', {}))).status).toBe(404);
    expect((await core.handle(request('PATCH', '/upload', {}))).status).toBe(405);
    expect((await core.handle(request('OPTIONS', '/upload', {}))).status).toBe(204);
    core.close();
  });

  it('cuts a body slower than the minimum rate, but never blames the server for its own slowness', async () => {
    let now = 0;
    const clock = { now: () => now };
    // A storage that takes a minute of the clock per chunk: the server is slow, not the client.
    class SlowStore extends MemoryStore {
      override async append(ref: UploadRef, body: AsyncIterable<Uint8Array>, options: AppendOptions): Promise<{ offset: number }> {
        const slowed = (async function* () {
          for await (const chunk of body) {
            yield chunk;
            now += 60_000;
          }
        })();
        return super.append(ref, slowed, options);
      }
    }
    const core = createUploadCore({ storage: new SlowStore({ clock }), clock, minBytesPerSecond: 1000, rateWindowMs: 10_000, sweepIntervalMs: 0 });
    const quick = (async function* () {
      for (let i = 0; i < 20; i++) yield new Uint8Array(100);
    })();
    expect(await core.handle(request('POST', '/upload', { 'X-File-Id': 'fast-client', 'X-Start-Byte': '0' }, quick))).toMatchObject({ status: 200, body: '2000' });
    // One byte per 20 s of the client's own silence: cut once 10 s of waiting have passed.
    const dripping = (async function* () {
      for (let i = 0; i < 20; i++) {
        now += 20_000;
        yield new Uint8Array(1);
      }
    })();
    const cut = await core.handle(request('POST', '/upload', { 'X-File-Id': 'slow-client', 'X-Start-Byte': '0', 'X-File-Size': '20' }, dripping));
    expect(cut).toMatchObject({ status: 408, closeConnection: true, headers: { 'X-Error-Code': 'TIMEOUT', 'X-Upload-Offset': '1' } });
    expect(cut.body).toMatch(/1000 bytes\/s/);
    await core.close();
  });

  it('answers 503 when an older request does not let go of the upload in time', async () => {
    // A storage whose append hangs after the body (a stuck disk), whatever the takeover says.
    let release!: () => void;
    const stuck = new Promise<void>((r) => (release = r));
    let entered!: () => void;
    const appending = new Promise<void>((r) => (entered = r));
    class StuckStore extends MemoryStore {
      override async append(ref: UploadRef, body: AsyncIterable<Uint8Array>, options: AppendOptions): Promise<{ offset: number }> {
        entered();
        const out = await super.append(ref, body, options).catch((e: unknown) => e);
        await stuck;
        if (out instanceof Error) throw out;
        return out as { offset: number };
      }
    }
    const core = createUploadCore({ storage: new StuckStore(), takeoverTimeoutMs: 50, sweepIntervalMs: 0 });
    const stalled = core.handle(request('POST', '/upload', { 'X-File-Id': 'stuck', 'X-Start-Byte': '0', 'X-File-Size': '4' }, bodyOf('ab')));
    await appending;
    const s = await core.handle(request('GET', '/status', { 'X-File-Id': 'stuck' }));
    expect(s).toMatchObject({ status: 503, headers: { 'X-Error-Code': 'UNAVAILABLE' } });
    release();
    // Once the stuck writer lets go, it learns it was taken over, and the upload answers again.
    expect(await stalled).toMatchObject({ status: 409, headers: { 'X-Error-Code': 'BUSY' } });
    const after = await core.handle(request('GET', '/status', { 'X-File-Id': 'stuck' }));
    expect(after).toMatchObject({ status: 200, body: (await stalled).body });
    await core.close();
  });

  it('delivers at startup what a crash left undelivered, and records it', async () => {
    const storage = new MemoryStore();
    async function* one(): AsyncGenerator<Uint8Array> {
      yield new TextEncoder().encode('data');
    }
    const ref = { namespace: '', id: 'left-over' };
    await storage.append(ref, one(), { start: 0, maxBytes: 10 });
    await storage.complete(ref);
    const calls: CompletedUpload[] = [];
    const core = createUploadCore({ storage, sweepIntervalMs: 0, onComplete: (c) => void calls.push(c) });
    await core.ready();
    await core.close();
    expect(calls.map((c) => c.metadata.id)).toEqual(['left-over']);
    const pending: CompletedUpload[] = [];
    for await (const c of storage.unnotified()) pending.push(c);
    expect(pending).toEqual([]);
  });

  it('retries a failing hook 1 s, 2 s, 4 s … apart, at most 10 min', () => {
    expect([1, 2, 3, 4, 10, 11, 50].map(retryDelayMs)).toEqual([1000, 2000, 4000, 8000, 512_000, 600_000, 600_000]);
  });
});
