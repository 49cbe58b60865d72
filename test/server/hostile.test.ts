// Malformed and hostile requests: each gets the right status and X-Error-Code, the server keeps
// serving, and nothing is ever written outside the upload directory.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdir, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { startTestServer, type TestServer } from '../helpers/server.js';
import { LAYOUT, call, digestOf, listFiles, openPost, post, postStream, randomData, rawRequest, sha256, status, waitFor } from './client.js';
import { readFile } from 'node:fs/promises';
import { storageKey } from '../../server/index.js';

const MAX = 2 * 1024 * 1024;
let srv: TestServer;
let sibling: string;
beforeAll(async () => {
  srv = await startTestServer({ maxUploadSize: MAX });
  sibling = join(srv.dir, 'sibling');
  await mkdir(sibling);
});
afterAll(async () => {
  // Nothing escaped: the sibling is empty and every stored name follows the hashed layout.
  expect(await readdir(sibling)).toEqual([]);
  expect((await readdir(srv.dir)).sort()).toEqual(['sibling', 'uploads']);
  for (const f of await listFiles(srv.uploadDir)) expect(f).toMatch(LAYOUT);
  await srv.close();
});

async function stillServing(): Promise<void> {
  expect((await status(srv.url, 'alive-check')).status).toBe(200);
}

describe('400 for malformed headers', () => {
  const cases: Array<[string, Record<string, string>, string]> = [
    ['missing X-File-Id', { 'X-Start-Byte': '0' }, 'BAD_FILE_ID'],
    ['empty X-File-Id', { 'X-File-Id': '', 'X-Start-Byte': '0' }, 'BAD_FILE_ID'],
    ['X-File-Id over 1024 bytes', { 'X-File-Id': 'é'.repeat(513), 'X-Start-Byte': '0' }, 'BAD_FILE_ID'],
    ['missing X-Start-Byte', { 'X-File-Id': 'm' }, 'BAD_START_BYTE'],
    ...['-1', '+1', '1e3', '0x10', '1.0', '01', '1 2', 'abc', '9007199254740992', '99999999999999999999'].map(
      (v): [string, Record<string, string>, string] => [`X-Start-Byte ${JSON.stringify(v)}`, { 'X-File-Id': 'm', 'X-Start-Byte': v }, 'BAD_START_BYTE'],
    ),
    ...['-5', '1e3', '0x10', '5.5', '007', ''].map((v): [string, Record<string, string>, string] => [
      `X-File-Size ${JSON.stringify(v)}`,
      { 'X-File-Id': 'm', 'X-Start-Byte': '0', 'X-File-Size': v },
      'BAD_FILE_SIZE',
    ]),
    ...['sha-256=abc', 'sha-256=:AAAA:', 'md5=:AAAA:', 'sha-256=:!!!!:', ''].map((v): [string, Record<string, string>, string] => [
      `Content-Digest ${JSON.stringify(v)}`,
      { 'X-File-Id': 'm', 'X-Start-Byte': '0', 'Content-Digest': v },
      'BAD_DIGEST',
    ]),
  ];
  it.each(cases)('POST with %s', async (_name, headers, code) => {
    const r = await call(`${srv.url}/upload`, { method: 'POST', headers, body: 'data' });
    expect(r.status).toBe(400);
    expect(r.code).toBe(code);
    expect(r.body.trim().length).toBeGreaterThan(0);
  });

  it('GET /status without an id, or with one over 1024 bytes', async () => {
    expect(await call(`${srv.url}/status`)).toMatchObject({ status: 400, code: 'BAD_FILE_ID' });
    expect(await status(srv.url, 'x'.repeat(1025))).toMatchObject({ status: 400, code: 'BAD_FILE_ID' });
    expect(await status(srv.url, 'x'.repeat(1024))).toMatchObject({ status: 200, body: '0' });
  });

  it('a malformed POST stores nothing', async () => {
    await call(`${srv.url}/upload`, { method: 'POST', headers: { 'X-File-Id': 'nothing', 'X-Start-Byte': '0', 'X-File-Size': '-1' }, body: 'x' });
    expect((await status(srv.url, 'nothing')).body).toBe('0');
    expect(await listFiles(srv.uploadDir).catch(() => [])).not.toContain(`partial/${storageKey({ namespace: '', id: 'nothing' })}`);
  });
});

describe('404 and 405', () => {
  it('answers unknown paths and wrong methods', async () => {
    expect(await call(`${srv.url}/nope`)).toMatchObject({ status: 404, code: 'NOT_FOUND' });
    const put = await call(`${srv.url}/upload`, { method: 'PUT', headers: { 'X-File-Id': 'a' }, body: 'x' });
    expect(put).toMatchObject({ status: 405, code: 'METHOD_NOT_ALLOWED' });
    expect(put.headers.get('allow')).toContain('POST');
    expect(await call(`${srv.url}/status`, { method: 'POST', headers: { 'X-File-Id': 'a' } })).toMatchObject({ status: 405 });
  });
});

describe('413', () => {
  it('refuses an X-File-Size above the server maximum', async () => {
    const r = await post(srv.url, 'too-big', 0, randomData(10), { 'X-File-Size': String(MAX + 1) });
    expect(r).toMatchObject({ status: 413, code: 'TOO_LARGE', offset: 0 });
  });

  it('refuses a body whose Content-Length passes X-File-Size, storing none of it', async () => {
    await post(srv.url, 'over-size', 0, randomData(60), { 'X-File-Size': '100' });
    const r = await post(srv.url, 'over-size', 60, randomData(41));
    expect(r).toMatchObject({ status: 413, code: 'TOO_LARGE', offset: 60 });
    expect((await status(srv.url, 'over-size')).body).toBe('60');
  });

  it('refuses a body past the server maximum without X-File-Size', async () => {
    const r = await post(srv.url, 'over-max', 0, randomData(MAX + 1));
    expect(r).toMatchObject({ status: 413, code: 'TOO_LARGE', offset: 0 });
    expect((await status(srv.url, 'over-max')).body).toBe('0');
  });

  it('stops a streamed (chunked) body at the limit, keeps what is below it, and still answers', async () => {
    const data = randomData(300);
    await post(srv.url, 'stream-over', 0, data.subarray(0, 100), { 'X-File-Size': '200' });
    const r = await postStream(srv.url, 'stream-over', 100, [data.subarray(100, 250), data.subarray(250)]);
    expect(r).toMatchObject({ status: 413, code: 'TOO_LARGE', offset: 200 });
    expect(r.body).toMatch(/size limit/);
    const s = await status(srv.url, 'stream-over');
    expect(s).toMatchObject({ body: '200', complete: false });
    // Completing needs an explicit empty POST at the size: an overlong body never completes an upload.
    expect(await post(srv.url, 'stream-over', 200, new Uint8Array(0))).toMatchObject({ status: 200, complete: true });
    await stillServing();
  });
});

describe('hostile ids', () => {
  const ids = ['../../etc/passwd', '/abs/path', '..', '.', 'a/../../../b', '..\\..\\win', '%2e%2e%2fx', 'C:\\x', '~root', 'sibling/../x'];
  it.each(ids)('%s is an opaque name, stored under its hash', async (id) => {
    const data = randomData(1000);
    expect(await post(srv.url, id, 0, data)).toMatchObject({ status: 200, complete: true });
    const key = storageKey({ namespace: '', id });
    expect(sha256(await readFile(join(srv.uploadDir, 'complete', key)))).toBe(sha256(data));
    expect((await status(srv.url, id)).body).toBe('1000');
  });

  it('rejects NUL and other control bytes in a header at the HTTP parser, and keeps serving', async () => {
    const reply = await rawRequest(srv.url, `GET /status HTTP/1.1\r\nHost: x\r\nX-File-Id: a\u0000b\r\nConnection: close\r\n\r\n`);
    expect(reply).toMatch(/^HTTP\/1\.1 400/);
    await stillServing();
  });

  it('answers a header block too large for the parser with 431, and keeps serving', async () => {
    const reply = await rawRequest(srv.url, `GET /status HTTP/1.1\r\nHost: x\r\nX-File-Id: ${'y'.repeat(100_000)}\r\nConnection: close\r\n\r\n`);
    expect(reply).toMatch(/^HTTP\/1\.1 431/);
    await stillServing();
  });
});

describe('concurrency', () => {
  it('uploads many ids at once, each byte-identical', async () => {
    const files = Array.from({ length: 40 }, (_, i) => ({ id: `many-${i}`, data: randomData(20_000 + i * 101) }));
    const replies = await Promise.all(files.map((f) => post(srv.url, f.id, 0, f.data, { 'Content-Digest': digestOf(f.data) })));
    for (const r of replies) expect(r).toMatchObject({ status: 200, complete: true });
    for (const f of files) {
      const stored = await readFile(join(srv.uploadDir, 'complete', storageKey({ namespace: '', id: f.id })));
      expect(sha256(stored)).toBe(sha256(f.data));
    }
  });

  it('a newer request takes over: the older one ends, its bytes are kept, the newer re-syncs', async () => {
    const id = 'takeover';
    const data = randomData(500_000);
    const old = await openPost(srv.url, { 'X-File-Id': id, 'X-Start-Byte': '0', 'X-File-Size': String(data.length) }, data.length, data.subarray(0, 123_456));
    // The older request has delivered its bytes and now stalls, as if its network vanished.
    await waitFor(async () => (await listFiles(srv.uploadDir)).includes(`partial/${storageKey({ namespace: '', id })}`));
    await new Promise((r) => setTimeout(r, 100));
    const newer = await post(srv.url, id, 0, data);
    expect(newer).toMatchObject({ status: 409, code: 'OFFSET_MISMATCH', body: '123456' });
    await waitFor(async () => old.socket.destroyed || old.received().length > 0);
    expect(old.received()).toMatch(/^HTTP\/1\.1 409[\s\S]*BUSY/);
    const done = await post(srv.url, id, 123_456, data.subarray(123_456));
    expect(done).toMatchObject({ status: 200, complete: true });
    const stored = await readFile(join(srv.uploadDir, 'complete', storageKey({ namespace: '', id })));
    expect(sha256(stored)).toBe(sha256(data));
  });

  it('simultaneous POSTs for one id each get 200 or 409, and a resume completes it intact', async () => {
    const id = 'same-id-race';
    const data = randomData(1_000_000);
    const size = { 'X-File-Size': String(data.length) };
    const replies = await Promise.all(Array.from({ length: 6 }, () => post(srv.url, id, 0, data.subarray(0, 400_000), size)));
    for (const r of replies) expect([200, 409]).toContain(r.status);
    const start = +(await status(srv.url, id)).body;
    expect(start).toBe(400_000);
    expect(await post(srv.url, id, start, data.subarray(start), size)).toMatchObject({ status: 200, complete: true });
    const stored = await readFile(join(srv.uploadDir, 'complete', storageKey({ namespace: '', id })));
    expect(sha256(stored)).toBe(sha256(data));
  });
});
