// GET /progress: what GET /status answers, without taking over. A client sending a file in one long
// POST asks it while the POST runs and sees the bytes the server has made durable so far (the disk
// store's checkpoints), and the POST goes on. Every wait is on a state, with a deadline.
import { afterEach, describe, expect, it } from 'vitest';
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FileStore, MemoryStore, UploadServerError, createUploadCore, storageKey, type FileStoreOptions, type StartServerOptions, type UploadRequest } from '../../server/index.js';
import { startTestServer, type TestServer } from '../helpers/server.js';
import { call, digestOf, post, randomData, sha256, status, waitFor, type Reply } from './client.js';

const MiB = 1024 * 1024;
/** The write loop writes 1 MiB batches; socket chunks are at most 64 KiB: bytes received but not yet written. */
const UNWRITTEN = 2 * MiB;
const DEADLINE = 20_000;

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

/** A server on a FileStore that makes every write durable as it lands (checkpoints at any size, any time). */
async function start(options: StartServerOptions = {}, store: Partial<FileStoreOptions> = {}): Promise<TestServer & { syncs(): number }> {
  const dir = await mkdtemp(join(tmpdir(), 'ru-progress-'));
  cleanups.push(() => rm(dir, { recursive: true, force: true }));
  let syncs = 0;
  const storage = new FileStore({
    dir,
    checkpoint: { bytes: 1, ms: 0, maxBytes: 1 },
    writes: {
      sync: async (fh) => {
        syncs++;
        await fh.sync();
      },
    },
    ...store,
  });
  const srv = await startTestServer({ storage, uploadDir: dir, sweepIntervalMs: 0, ...options });
  cleanups.push(() => srv.close());
  return { ...srv, syncs: () => syncs };
}

function progress(base: string, id: string, extra: Record<string, string> = {}): Promise<Reply> {
  return call(`${base}/progress`, { headers: { 'X-File-Id': id, ...extra } });
}

/** A POST whose body the test pushes, as it likes (chunked, no Content-Length). */
function streamingPost(base: string, headers: Record<string, string>) {
  let controller!: ReadableStreamDefaultController<Uint8Array>;
  const body = new ReadableStream<Uint8Array>({
    start(c) {
      controller = c;
    },
  });
  const reply = call(`${base}/upload`, { method: 'POST', headers, body });
  // Observed by the test; this keeps a refusal from counting as unhandled meanwhile.
  reply.catch(() => undefined);
  return { reply, push: (b: Uint8Array) => controller.enqueue(b), end: () => controller.close() };
}

async function offsetOf(base: string, id: string): Promise<number> {
  const r = await progress(base, id);
  expect(r.status).toBe(200);
  return Number(r.body);
}

/**
 * Waits until the POST holds the upload (its metadata is written before any body byte is read).
 * fetch sends a streamed request's head with its first chunk: push one first.
 */
async function holding(srv: TestServer, id: string): Promise<void> {
  await waitFor(async () => (await stat(join(srv.uploadDir, 'partial', `${storageKey({ namespace: '', id })}.json`)).catch(() => undefined)) !== undefined, DEADLINE);
}

describe('GET /progress during a long POST', () => {
  it('reports 0, then the growing durable offset, and the POST goes on to complete the file byte for byte', async () => {
    const srv = await start();
    const id = 'one-long-post';
    const data = randomData(8 * MiB);
    const p = streamingPost(srv.url, { 'X-File-Id': id, 'X-Start-Byte': '0', 'X-File-Size': String(data.length) });
    p.push(data.subarray(0, 1000));
    await holding(srv, id);
    // Received, not yet written (the write loop waits for a batch), so not durable.
    const first = await progress(srv.url, id);
    expect(first).toMatchObject({ status: 200, body: '0', complete: false });
    expect(first.headers.get('x-file-size')).toBe(String(data.length));

    p.push(data.subarray(1000, 4 * MiB));
    await waitFor(async () => (await offsetOf(srv.url, id)) >= 4 * MiB - UNWRITTEN, DEADLINE);
    const mid = await offsetOf(srv.url, id);
    expect(mid).toBeLessThanOrEqual(4 * MiB);
    p.push(data.subarray(4 * MiB));
    await waitFor(async () => (await offsetOf(srv.url, id)) >= 8 * MiB - UNWRITTEN, DEADLINE);
    expect(await offsetOf(srv.url, id)).toBeGreaterThan(mid);
    p.end();

    expect(await p.reply).toMatchObject({ status: 200, complete: true, body: String(data.length) });
    expect(sha256(await readFile(join(srv.uploadDir, 'complete', storageKey({ namespace: '', id }))))).toBe(sha256(data));
    expect(await progress(srv.url, id)).toMatchObject({ status: 200, body: String(data.length), complete: true });
  });

  it('where /progress leaves the POST alone, GET /status takes over: the POST ends with BUSY and the client resumes from the status', async () => {
    const srv = await start();
    const id = 'taken-over';
    const data = randomData(6 * MiB);
    const p = streamingPost(srv.url, { 'X-File-Id': id, 'X-Start-Byte': '0', 'X-File-Size': String(data.length) });
    p.push(data.subarray(0, 4 * MiB));
    await waitFor(async () => (await offsetOf(srv.url, id)) >= 4 * MiB - UNWRITTEN, DEADLINE);
    const seen = await offsetOf(srv.url, id);
    const s = await status(srv.url, id);
    expect(s.status).toBe(200);
    // What /progress reported is never taken back.
    expect(Number(s.body)).toBeGreaterThanOrEqual(seen);
    expect(await p.reply).toMatchObject({ status: 409, code: 'BUSY' });
    expect(await post(srv.url, id, Number(s.body), data.subarray(Number(s.body)))).toMatchObject({ status: 200, complete: true });
    expect(sha256(await readFile(join(srv.uploadDir, 'complete', storageKey({ namespace: '', id }))))).toBe(sha256(data));
  });

  it('a body with a Content-Digest is all or nothing: /progress stays at its start until it is verified', async () => {
    const srv = await start();
    const id = 'digest-body';
    const data = randomData(4 * MiB + 1000);
    expect(await post(srv.url, id, 0, data.subarray(0, 1000), { 'X-File-Size': String(data.length) })).toMatchObject({ status: 200, body: '1000' });
    const syncs = srv.syncs();
    const body = data.subarray(1000);
    const p = streamingPost(srv.url, { 'X-File-Id': id, 'X-Start-Byte': '1000', 'Content-Digest': digestOf(body) });
    p.push(body.subarray(0, 3 * MiB));
    // Bytes land on the disk, but nothing of them is fsynced or reported before the body is verified.
    const dataPath = join(srv.uploadDir, 'partial', storageKey({ namespace: '', id }));
    await waitFor(async () => (await stat(dataPath)).size >= 1000 + 2 * MiB, DEADLINE);
    expect(srv.syncs()).toBe(syncs);
    expect(await progress(srv.url, id)).toMatchObject({ status: 200, body: '1000', complete: false });
    p.push(body.subarray(3 * MiB));
    p.end();
    expect(await p.reply).toMatchObject({ status: 200, complete: true, body: String(data.length) });
    expect(await progress(srv.url, id)).toMatchObject({ body: String(data.length), complete: true });
  });

  it('the memory store reports the bytes of a body as they arrive, and its POST goes on', async () => {
    const core = createUploadCore({ storage: new MemoryStore(), sweepIntervalMs: 0 });
    let release!: () => void;
    const body = (async function* () {
      yield new TextEncoder().encode('abc');
      await new Promise<void>((r) => (release = r));
      yield new TextEncoder().encode('def');
    })();
    const posting = core.handle(request('POST', '/upload', { 'X-File-Id': 'm', 'X-Start-Byte': '0', 'X-File-Size': '6' }, body));
    const seen = async (): Promise<string> => String((await core.handle(request('GET', '/progress', { 'X-File-Id': 'm' }))).body);
    await waitFor(async () => (await seen()) === '3', DEADLINE);
    release();
    expect(await posting).toMatchObject({ status: 200, body: '6' });
    expect(await seen()).toBe('6');
    await core.close();
  });
});

describe('GET /progress like GET /status', () => {
  it('answers HEAD, 0 for an unknown id, and refuses a missing or reserved X-File-Id as /status does', async () => {
    const srv = await start();
    expect(await progress(srv.url, 'unknown')).toMatchObject({ status: 200, body: '0', complete: false });
    const head = await call(`${srv.url}/progress`, { method: 'HEAD', headers: { 'X-File-Id': 'unknown' } });
    expect(head).toMatchObject({ status: 200, body: '', offset: 0 });
    const bad: Array<Record<string, string>> = [{}, { 'X-File-Id': '@files/abc' }, { 'X-File-Id': 'x'.repeat(1025) }];
    for (const headers of bad) {
      const refused = await call(`${srv.url}/progress`, { headers });
      const asStatus = await call(`${srv.url}/status`, { headers });
      expect(refused).toMatchObject({ status: 400, code: 'BAD_FILE_ID' });
      expect(refused.body).toBe(asStatus.body);
    }
    expect((await call(`${srv.url}/progress`, { method: 'POST', headers: { 'X-File-Id': 'a' } })).status).toBe(405);
  });

  it('answers within the namespace authorize gives, and is refused when authorize refuses', async () => {
    const srv = await start({
      authorize: async (req) => {
        const user = req.headers['x-user'];
        if (user === undefined) throw new UploadServerError('UNAUTHORIZED', 'who are you?');
        return user;
      },
    });
    expect(await post(srv.url, 'shared-id', 0, randomData(10), { 'X-User': 'alice', 'X-File-Size': '20' })).toMatchObject({ status: 200 });
    expect(await progress(srv.url, 'shared-id', { 'X-User': 'alice' })).toMatchObject({ status: 200, body: '10' });
    expect(await progress(srv.url, 'shared-id', { 'X-User': 'bob' })).toMatchObject({ status: 200, body: '0' });
    expect(await progress(srv.url, 'shared-id')).toMatchObject({ status: 401, code: 'UNAUTHORIZED' });
  });

  it('cross-origin: a preflight for GET /progress is allowed, and the answer exposes the offset', async () => {
    const srv = await start({ corsOrigins: ['https://app.example'] });
    const pre = await call(`${srv.url}/progress`, {
      method: 'OPTIONS',
      headers: { Origin: 'https://app.example', 'Access-Control-Request-Method': 'GET', 'Access-Control-Request-Headers': 'x-file-id' },
    });
    expect(pre.status).toBe(204);
    expect(pre.headers.get('access-control-allow-origin')).toBe('https://app.example');
    expect(pre.headers.get('access-control-allow-methods')).toContain('GET');
    expect(pre.headers.get('access-control-allow-headers')).toContain('X-File-Id');
    const r = await progress(srv.url, 'c', { Origin: 'https://app.example' });
    expect(r.headers.get('access-control-allow-origin')).toBe('https://app.example');
    expect(r.headers.get('access-control-expose-headers')).toContain('X-Upload-Offset');
  });
});

function request(method: string, path: string, headers: Record<string, string>, body: AsyncIterable<Uint8Array> = (async function* () {})()): UploadRequest {
  const lower: Record<string, string> = {};
  for (const [k, v] of Object.entries(headers)) lower[k.toLowerCase()] = v;
  return { method, path, headers: lower, body, signal: new AbortController().signal };
}
