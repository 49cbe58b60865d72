// tus 1.0 at /files/ against the real server on a loopback port: the core protocol and each
// extension the server announces, requirement by requirement (protocol.md's MUSTs).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHash } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { CompletedUpload } from '../../server/index.js';
import { startTestServer, type TestServer } from '../helpers/server.js';
import { until } from '../../lab/poll.js';
import { call, randomData, rawRequest, sha256, parseRaw } from './client.js';
import { request } from 'node:http';
import { SHA1_MAX_BODY, SHA1_MAX_HELD, sha1HeldBytes } from '../../server/tus/tus-checksum.js';

let srv: TestServer;
const completed: CompletedUpload[] = [];
const MAX = 5_000_000;
beforeAll(async () => {
  srv = await startTestServer({ maxUploadSize: MAX, onComplete: (info) => void completed.push(info) });
});
afterAll(async () => {
  await srv.close();
});

const V = { 'Tus-Resumable': '1.0.0' };
const b64 = (s: string): string => Buffer.from(s).toString('base64');

async function create(headers: Record<string, string>, body?: Uint8Array): Promise<{ url: string; offset: string | null; status: number }> {
  const r = await call(`${srv.url}/files/`, { method: 'POST', headers: { ...V, ...headers }, ...(body === undefined ? {} : { body }) });
  expect(r.status, r.body).toBe(201);
  return { url: new URL(r.headers.get('location')!, `${srv.url}/files/`).href, offset: r.headers.get('upload-offset'), status: r.status };
}

const patch = (url: string, offset: number, body: Uint8Array, extra: Record<string, string> = {}) =>
  call(url, { method: 'PATCH', headers: { ...V, 'Content-Type': 'application/offset+octet-stream', 'Upload-Offset': String(offset), ...extra }, body });
const head = (url: string, extra: Record<string, string> = {}) => call(url, { method: 'HEAD', headers: { ...V, ...extra } });

async function finished(size: number, name?: string): Promise<CompletedUpload> {
  return until('onComplete', () => completed.find((c) => c.metadata.size === size && (name === undefined || c.metadata.name === name)));
}

describe('tus discovery and versions', () => {
  it('OPTIONS /files/ lists the version, extensions, maximum size and checksum algorithms', async () => {
    const r = await call(`${srv.url}/files/`, { method: 'OPTIONS' });
    expect(r.status).toBe(204);
    expect(r.headers.get('tus-version')).toBe('1.0.0');
    expect(r.headers.get('tus-resumable')).toBe('1.0.0');
    expect(r.headers.get('tus-extension')?.split(',')).toEqual(['creation', 'creation-with-upload', 'creation-defer-length', 'termination', 'checksum', 'expiration']);
    expect(r.headers.get('tus-max-size')).toBe(String(MAX));
    expect(r.headers.get('tus-checksum-algorithm')).toBe('sha1,sha256');
  });

  it.each([['0.2.2'], [undefined]])('Tus-Resumable %s: 412 with Tus-Version, nothing created', async (version) => {
    const r = await call(`${srv.url}/files/`, { method: 'POST', headers: { 'Upload-Length': '5', ...(version ? { 'Tus-Resumable': version } : {}) } });
    expect(r.status).toBe(412);
    expect(r.headers.get('tus-version')).toBe('1.0.0');
    expect(r.headers.get('location')).toBeNull();
    expect(r.body).toContain('1.0.0');
  });
});

describe('creation', () => {
  it('POST with Upload-Length: 201 + Location /files/<server id>, HEAD at 0 with the length and metadata, no-store', async () => {
    const meta = `filename ${b64('résumé.pdf')},filetype ${b64('application/pdf')},is_confidential`;
    const { url } = await create({ 'Upload-Length': '100', 'Upload-Metadata': meta });
    expect(new URL(url).pathname).toMatch(/^\/files\/[A-Za-z0-9_-]{24}$/);
    const h = await head(url);
    expect(h.status).toBe(200);
    expect(h.headers.get('upload-offset')).toBe('0');
    expect(h.headers.get('upload-length')).toBe('100');
    expect(h.headers.get('cache-control')).toBe('no-store');
    expect(h.headers.get('tus-resumable')).toBe('1.0.0');
    expect(h.headers.get('upload-metadata')).toBe(`filename ${b64('résumé.pdf')},filetype ${b64('application/pdf')},is_confidential`);
  });

  it('Upload-Length and Upload-Metadata land in the completion metadata (name, safeName, type, every pair)', async () => {
    const data = randomData(1234);
    const { url } = await create({ 'Upload-Length': String(data.length), 'Upload-Metadata': `filename ${b64('../a/b.txt')},filetype ${b64('text/plain')},album ${b64('Été')}` });
    const r = await patch(url, 0, data);
    expect(r.status).toBe(204);
    expect(r.headers.get('upload-offset')).toBe(String(data.length));
    const done = await finished(data.length, '../a/b.txt');
    expect(done.metadata).toMatchObject({ name: '../a/b.txt', safeName: 'b.txt', type: 'text/plain', fields: { filename: '../a/b.txt', filetype: 'text/plain', album: 'Été' } });
    expect(done.metadata.id).toBe(`@files/${new URL(url).pathname.split('/').pop()}`);
    expect(sha256(await readFile(done.path))).toBe(sha256(data));
  });

  it.each([
    ['neither length header', {}],
    ['both length headers', { 'Upload-Length': '5', 'Upload-Defer-Length': '1' }],
    ['Upload-Defer-Length other than 1', { 'Upload-Defer-Length': '2' }],
    ['a malformed Upload-Length', { 'Upload-Length': '-5' }],
    ['malformed Upload-Metadata (duplicate key)', { 'Upload-Length': '5', 'Upload-Metadata': 'a YQ==,a Yg==' }],
    ['malformed Upload-Metadata (not base64)', { 'Upload-Length': '5', 'Upload-Metadata': 'a !!!' }],
  ])('%s: 400 with a reason', async (_name, headers) => {
    const r = await call(`${srv.url}/files/`, { method: 'POST', headers: { ...V, ...headers } });
    expect(r.status).toBe(400);
    expect(r.body.length).toBeGreaterThan(5);
    expect(r.headers.get('location')).toBeNull();
  });

  it('an Upload-Length over Tus-Max-Size: 413', async () => {
    const r = await call(`${srv.url}/files/`, { method: 'POST', headers: { ...V, 'Upload-Length': String(MAX + 1) } });
    expect(r.status).toBe(413);
  });

  it('Upload-Length: 0 is complete at once', async () => {
    const { url } = await create({ 'Upload-Length': '0', 'Upload-Metadata': `filename ${b64('empty.txt')}` });
    const done = await finished(0, 'empty.txt');
    expect(done.metadata.size).toBe(0);
    expect((await head(url)).headers.get('upload-offset')).toBe('0');
  });

  it('creation-with-upload: the body is appended and its Upload-Offset answered; a Location relative to basePath', async () => {
    const data = randomData(3000);
    const first = await create({ 'Upload-Length': String(data.length), 'Content-Type': 'application/offset+octet-stream' }, data.subarray(0, 1000));
    expect(first.offset).toBe('1000');
    const r = await patch(first.url, 1000, data.subarray(1000));
    expect(r.headers.get('upload-offset')).toBe('3000');
    const whole = await create({ 'Upload-Length': '10', 'Content-Type': 'application/offset+octet-stream' }, data.subarray(0, 10));
    expect(whole.offset).toBe('10');
    expect((await head(whole.url)).headers.get('upload-offset')).toBe('10');
  });

  it('creation-defer-length: Upload-Defer-Length: 1 on HEAD until a PATCH sets the length, which never changes', async () => {
    const data = randomData(500);
    const { url } = await create({ 'Upload-Defer-Length': '1' });
    expect((await head(url)).headers.get('upload-defer-length')).toBe('1');
    expect((await patch(url, 0, data.subarray(0, 200))).status).toBe(204);
    const h = await head(url);
    expect(h.headers.get('upload-defer-length')).toBe('1');
    expect(h.headers.get('upload-length')).toBeNull();
    expect((await patch(url, 200, data.subarray(200, 300), { 'Upload-Length': '500' })).status).toBe(204);
    expect((await head(url)).headers.get('upload-length')).toBe('500');
    const changed = await patch(url, 300, data.subarray(300), { 'Upload-Length': '501' });
    expect(changed.status).toBe(400);
    expect((await patch(url, 300, data.subarray(300))).headers.get('upload-offset')).toBe('500');
    await finished(500);
  });
});

describe('core protocol: HEAD and PATCH', () => {
  it('PATCH at the wrong offset: 409 with the offset held, nothing changed', async () => {
    const { url } = await create({ 'Upload-Length': '10' });
    await patch(url, 0, Buffer.from('abc'));
    const r = await patch(url, 1, Buffer.from('xyz'));
    expect(r.status).toBe(409);
    expect(r.headers.get('upload-offset')).toBe('3');
    expect((await head(url)).headers.get('upload-offset')).toBe('3');
  });

  it('PATCH without the tus media type: 415', async () => {
    const { url } = await create({ 'Upload-Length': '10' });
    const r = await call(url, { method: 'PATCH', headers: { ...V, 'Upload-Offset': '0', 'Content-Type': 'application/octet-stream' }, body: Buffer.from('abc') });
    expect(r.status).toBe(415);
  });

  it('a body past Upload-Length: 413, nothing beyond it stored', async () => {
    const { url } = await create({ 'Upload-Length': '4' });
    const r = await patch(url, 0, Buffer.from('abcdef'));
    expect(r.status).toBe(413);
    expect(Number((await head(url)).headers.get('upload-offset'))).toBeLessThanOrEqual(4);
  });

  it.each([['HEAD'], ['PATCH'], ['DELETE']])('%s of an unknown or malformed upload URL: 404 without Upload-Offset', async (method) => {
    for (const path of ['/files/AAAAAAAAAAAAAAAAAAAAAAAA', '/files/not-ours', '/files/..%2F..%2Fetc']) {
      const r = await call(`${srv.url}${path}`, { method, headers: { ...V, 'Content-Type': 'application/offset+octet-stream', 'Upload-Offset': '0' }, ...(method === 'PATCH' ? { body: Buffer.from('x') } : {}) });
      expect(r.status, path).toBe(404);
      expect(r.headers.get('upload-offset')).toBeNull();
    }
  });

  it('a PATCH cut mid-body keeps what arrived; HEAD then says where to resume', async () => {
    const data = randomData(200_000);
    const { url } = await create({ 'Upload-Length': String(data.length) });
    const path = new URL(url).pathname;
    const socket = await import('node:net').then(({ connect }) => connect(srv.port, '127.0.0.1'));
    socket.on('error', () => undefined);
    socket.write(`PATCH ${path} HTTP/1.1\r\nHost: x\r\nTus-Resumable: 1.0.0\r\nContent-Type: application/offset+octet-stream\r\nUpload-Offset: 0\r\nContent-Length: ${data.length}\r\n\r\n`);
    await new Promise<void>((resolve) => socket.write(data.subarray(0, 80_000), () => resolve()));
    await until('the bytes on disk', async () => Number((await head(url)).headers.get('upload-offset')) > 0 || undefined, 10_000);
    socket.destroy();
    const offset = Number((await head(url)).headers.get('upload-offset'));
    expect(offset).toBeGreaterThan(0);
    expect(offset).toBeLessThanOrEqual(80_000);
    expect((await patch(url, offset, data.subarray(offset))).status).toBe(204);
    const done = await finished(data.length);
    expect(sha256(await readFile(done.path))).toBe(sha256(data));
  });

  it('X-HTTP-Method-Override turns a POST into the method it names', async () => {
    const { url } = await create({ 'Upload-Length': '3' });
    const r = await call(url, { method: 'POST', headers: { ...V, 'X-HTTP-Method-Override': 'PATCH', 'Content-Type': 'application/offset+octet-stream', 'Upload-Offset': '0' }, body: Buffer.from('abc') });
    expect(r.status).toBe(204);
    const h = await call(url, { method: 'POST', headers: { ...V, 'X-HTTP-Method-Override': 'HEAD' } });
    expect(h.headers.get('upload-offset')).toBe('3');
  });
});

describe('checksum, termination, expiration', () => {
  const sum = (algo: string, data: Uint8Array): string => `${algo} ${createHash(algo).update(data).digest('base64')}`;

  it.each([['sha1'], ['sha256']])('%s: a matching chunk is appended, a mismatching one gets 460 and is discarded', async (algo) => {
    const data = randomData(5000);
    const { url } = await create({ 'Upload-Length': String(data.length) });
    expect((await patch(url, 0, data.subarray(0, 2000), { 'Upload-Checksum': sum(algo, data.subarray(0, 2000)) })).status).toBe(204);
    const bad = await patch(url, 2000, data.subarray(2000), { 'Upload-Checksum': sum(algo, data.subarray(0, 10)) });
    expect(bad.status).toBe(460);
    expect(bad.headers.get('x-error-code')).toBe('DIGEST_MISMATCH');
    expect((await head(url)).headers.get('upload-offset')).toBe('2000');
    expect((await patch(url, 2000, data.subarray(2000), { 'Upload-Checksum': sum(algo, data.subarray(2000)) })).status).toBe(204);
  });

  it('a creation-with-upload whose checksum does not match: 460, and no upload is left behind (none was named)', async () => {
    const partials = async (): Promise<number> => (await readdir(join(srv.uploadDir, 'partial'))).length;
    const before = await partials();
    const data = randomData(3000);
    const r = await call(`${srv.url}/files/`, {
      method: 'POST',
      headers: { ...V, 'Upload-Length': '3000', 'Content-Type': 'application/offset+octet-stream', 'Upload-Checksum': sum('sha256', data.subarray(0, 10)) },
      body: data,
    });
    expect(r.status).toBe(460);
    expect(r.headers.get('location')).toBeNull();
    expect(await partials()).toBe(before);
  });

  it('sha1 bodies are held in memory: past SHA1_MAX_BODY by Content-Length 413 unread, past SHA1_MAX_HELD all together 503; the others land', async () => {
    const own = await startTestServer({});
    try {
      const make = async (length: number): Promise<string> => {
        const r = await call(`${own.url}/files/`, { method: 'POST', headers: { ...V, 'Upload-Length': String(length) } });
        expect(r.status).toBe(201);
        return new URL(r.headers.get('location')!, `${own.url}/files/`).href;
      };
      const raw = (url: string, headers: Record<string, string>) => {
        const u = new URL(url);
        const r = request({ method: 'PATCH', hostname: u.hostname, port: u.port, path: u.pathname, headers: { ...V, 'Content-Type': 'application/offset+octet-stream', 'Upload-Offset': '0', ...headers } });
        const answered = new Promise<number>((resolve, reject) => {
          r.on('response', (res) => {
            res.resume();
            resolve(res.statusCode ?? 0);
          });
          r.on('error', reject);
        });
        return { r, answered };
      };
      // Refused by its Content-Length alone: the answer comes with no byte of the body sent.
      const big = raw(await make(SHA1_MAX_BODY + 1), { 'Content-Length': String(SHA1_MAX_BODY + 1), 'Upload-Checksum': sum('sha1', new Uint8Array(1)) });
      big.r.flushHeaders();
      expect(await big.answered).toBe(413);
      big.r.destroy();
      // Four bodies of SHA1_MAX_BODY, all but their last byte sent: SHA1_MAX_HELD is taken.
      const bodies = [0, 1, 2, 3].map((i) => new Uint8Array(SHA1_MAX_BODY).fill(i + 1));
      const open = await Promise.all(
        bodies.map(async (b) => {
          const o = raw(await make(b.length), { 'Content-Length': String(b.length), 'Upload-Checksum': sum('sha1', b) });
          o.r.write(b.subarray(0, b.length - 1));
          return { ...o, last: b.subarray(b.length - 1) };
        }),
      );
      await until('four sha1 bodies held', () => sha1HeldBytes() >= SHA1_MAX_HELD - 4);
      const fifth = randomData(1000);
      const url = await make(1000);
      const refused = await call(url, { method: 'PATCH', headers: { ...V, 'Content-Type': 'application/offset+octet-stream', 'Upload-Offset': '0', 'Upload-Checksum': sum('sha1', fifth) }, body: fifth });
      expect(refused.status).toBe(503);
      expect(refused.body).toContain('try again shortly, or use sha256');
      for (const o of open) o.r.end(o.last);
      expect(await Promise.all(open.map((o) => o.answered))).toEqual([204, 204, 204, 204]);
      await until('nothing held', () => sha1HeldBytes() === 0);
      const again = await call(url, { method: 'PATCH', headers: { ...V, 'Content-Type': 'application/offset+octet-stream', 'Upload-Offset': '0', 'Upload-Checksum': sum('sha1', fifth) }, body: fifth });
      expect(again.status).toBe(204);
    } finally {
      await own.close();
    }
  });

  it('an algorithm not offered, or a malformed checksum: 400, nothing appended', async () => {
    const { url } = await create({ 'Upload-Length': '3' });
    for (const value of ['md5 kAFQmDzST7DWlj99KOF/cg==', 'sha1', 'sha256 AAAA']) {
      const r = await patch(url, 0, Buffer.from('abc'), { 'Upload-Checksum': value });
      expect(r.status, value).toBe(400);
    }
    expect((await head(url)).headers.get('upload-offset')).toBe('0');
  });

  it('termination: DELETE answers 204, then the upload is 404', async () => {
    const { url } = await create({ 'Upload-Length': '10' });
    await patch(url, 0, Buffer.from('abc'));
    expect((await call(url, { method: 'DELETE', headers: V })).status).toBe(204);
    expect((await head(url)).status).toBe(404);
  });

  it('a finished upload is not terminated (the application has it): 409', async () => {
    const { url } = await create({ 'Upload-Length': '3' });
    await patch(url, 0, Buffer.from('abc'));
    const r = await call(url, { method: 'DELETE', headers: V });
    expect(r.status).toBe(409);
    expect((await head(url)).headers.get('upload-offset')).toBe('3');
  });

  it('expiration: Upload-Expires (an HTTP date about staleAfterMs ahead) on creation and PATCH answers of unfinished uploads', async () => {
    const r = await call(`${srv.url}/files/`, { method: 'POST', headers: { ...V, 'Upload-Length': '10' } });
    const expires = Date.parse(r.headers.get('upload-expires') ?? '');
    expect(expires - Date.now()).toBeGreaterThan(23 * 3600_000);
    expect(r.headers.get('upload-expires')).toMatch(/^[A-Z][a-z]{2}, \d\d [A-Z][a-z]{2} \d{4} \d\d:\d\d:\d\d GMT$/);
    const p = await patch(new URL(r.headers.get('location')!, srv.url).href, 0, Buffer.from('ab'));
    expect(p.headers.get('upload-expires')).not.toBeNull();
  });
});

describe('ids, CORS and the other protocols', () => {
  it("status/slice refuses client ids in the server's id space", async () => {
    const { url } = await create({ 'Upload-Length': '10' });
    const token = new URL(url).pathname.split('/').pop()!;
    const r = await call(`${srv.url}/status`, { headers: { 'X-File-Id': `@files/${token}` } });
    expect(r.status).toBe(400);
    expect(r.code).toBe('BAD_FILE_ID');
  });

  it('an upload whose id looks like a server token stays a status/slice upload', async () => {
    const id = 'AAAAAAAAAAAAAAAAAAAAAAAA';
    await call(`${srv.url}/upload`, { method: 'POST', headers: { 'X-File-Id': id, 'X-Start-Byte': '0', 'X-File-Size': '10' }, body: Buffer.from('abc') });
    expect((await head(`${srv.url}/files/${id}`)).status).toBe(404);
  });
});

describe('tus behind basePath and CORS', () => {
  let cors: TestServer;
  beforeAll(async () => {
    cors = await startTestServer({ basePath: '/api', corsOrigins: ['https://app.example'] });
  });
  afterAll(async () => {
    await cors.close();
  });

  it('Location includes the base path', async () => {
    const r = await call(`${cors.url}/api/files/`, { method: 'POST', headers: { ...V, 'Upload-Length': '1' } });
    expect(r.headers.get('location')).toMatch(/^\/api\/files\/[A-Za-z0-9_-]{24}$/);
  });

  it('a preflight allows the tus request headers and methods; answers expose what tus-js-client reads', async () => {
    const pre = await call(`${cors.url}/api/files/x`, {
      method: 'OPTIONS',
      headers: { Origin: 'https://app.example', 'Access-Control-Request-Method': 'PATCH', 'Access-Control-Request-Headers': 'tus-resumable,upload-offset,upload-checksum,content-type' },
    });
    expect(pre.status).toBe(204);
    const allowed = pre.headers.get('access-control-allow-headers')!.toLowerCase();
    for (const h of ['tus-resumable', 'upload-length', 'upload-metadata', 'upload-offset', 'upload-defer-length', 'upload-concat', 'upload-checksum', 'content-type', 'x-http-method-override']) {
      expect(allowed).toContain(h);
    }
    expect(pre.headers.get('access-control-allow-methods')).toContain('PATCH');
    const r = await call(`${cors.url}/api/files/`, { method: 'POST', headers: { ...V, Origin: 'https://app.example', 'Upload-Length': '1' } });
    const exposed = r.headers.get('access-control-expose-headers')!.toLowerCase();
    for (const h of ['location', 'upload-offset', 'upload-length', 'upload-defer-length', 'upload-metadata', 'upload-expires', 'tus-resumable', 'tus-version', 'tus-extension', 'tus-max-size', 'tus-checksum-algorithm']) {
      expect(exposed).toContain(h);
    }
  });
});

describe('raw HTTP', () => {
  it('HEAD answers carry no body (a HEAD by X-HTTP-Method-Override neither)', async () => {
    const { url } = await create({ 'Upload-Length': '10' });
    const raw = parseRaw(await rawRequest(srv.url, `HEAD ${new URL(url).pathname} HTTP/1.1\r\nHost: x\r\nTus-Resumable: 1.0.0\r\nConnection: close\r\n\r\n`));
    expect(raw.status).toBe(200);
    expect(raw.headers['upload-offset']).toBe('0');
  });
});
