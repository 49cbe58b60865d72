// Embedding features: sweep, idle timeout, authorize, CORS, onComplete, disk full, static files,
// base path and Express-style next().
import { afterEach, describe, expect, it } from 'vitest';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { FileStore, UploadServerError, createUploadHandler, storageKey, type CompletedUpload } from '../../server/index.js';
import type { WriteChunks } from '../../server/file-append.js';
import { writeAll } from '../../server/file-append.js';
import { startTestServer, type TestServer } from '../helpers/server.js';
import { call, listFiles, openPost, post, randomData, sha256, status, waitFor } from './client.js';

const servers: Array<{ close(): Promise<void> }> = [];
async function start(options: Parameters<typeof startTestServer>[0] = {}): Promise<TestServer> {
  const s = await startTestServer(options);
  servers.push(s);
  return s;
}
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => s.close()));
});

describe('sweep', () => {
  it('removes partial uploads untouched for staleAfterMs, keeps fresh and completed ones', async () => {
    let now = Date.now();
    const srv = await start({ clock: { now: () => now }, staleAfterMs: 60 * 60 * 1000, sweepIntervalMs: 0 });
    await post(srv.url, 'stale', 0, randomData(100), { 'X-File-Size': '1000' });
    await post(srv.url, 'finished', 0, randomData(100));
    const handler = createUploadHandler({ uploadDir: srv.uploadDir, clock: { now: () => now }, staleAfterMs: 60 * 60 * 1000, sweepIntervalMs: 0 });
    expect(await handler.sweep()).toBe(0);
    now += 2 * 60 * 60 * 1000;
    expect(await handler.sweep()).toBe(1);
    expect((await status(srv.url, 'stale')).body).toBe('0');
    expect(await status(srv.url, 'finished')).toMatchObject({ body: '100', complete: true });
    await handler.close();
  });
});

describe('idle timeout', () => {
  it('ends a body that stalls, keeping what arrived', async () => {
    const srv = await start({ idleTimeoutMs: 300 });
    const data = randomData(100_000);
    const open = await openPost(srv.url, { 'X-File-Id': 'idle', 'X-Start-Byte': '0' }, data.length, data.subarray(0, 40_000));
    await waitFor(async () => open.received().length > 0 || open.socket.destroyed);
    expect(open.received()).toMatch(/^HTTP\/1\.1 408[\s\S]*X-Upload-Offset: 40000\r\n[\s\S]*TIMEOUT/);
    expect(await status(srv.url, 'idle')).toMatchObject({ body: '40000', complete: false });
    open.socket.destroy();
  });
});

describe('authorize', () => {
  const authorize = (req: { headers: Readonly<Record<string, string | undefined>> }): string => {
    const user = req.headers['authorization'];
    if (!user) throw new UploadServerError('UNAUTHORIZED', 'log in first');
    if (user === 'banned') throw new UploadServerError('FORBIDDEN');
    return user;
  };

  it('answers 401 and 403 from the hook, and keeps namespaces apart', async () => {
    const srv = await start({ authorize });
    expect(await status(srv.url, 'doc')).toMatchObject({ status: 401, code: 'UNAUTHORIZED', body: 'log in first\n' });
    expect(await post(srv.url, 'doc', 0, randomData(5), { Authorization: 'banned' })).toMatchObject({ status: 403, code: 'FORBIDDEN' });
    const alice = randomData(300);
    const bob = randomData(500);
    expect(await post(srv.url, 'doc', 0, alice, { Authorization: 'alice', 'X-File-Size': '600' })).toMatchObject({ status: 200, body: '300' });
    // Same id, other user: starts from nothing, never sees alice's bytes or size.
    expect(await status(srv.url, 'doc', { Authorization: 'bob' })).toMatchObject({ body: '0' });
    expect(await post(srv.url, 'doc', 0, bob, { Authorization: 'bob' })).toMatchObject({ status: 200, complete: true, body: '500' });
    expect(await status(srv.url, 'doc', { Authorization: 'alice' })).toMatchObject({ body: '300', complete: false });
    const bobFile = await readFile(join(srv.uploadDir, 'complete', storageKey({ namespace: 'bob', id: 'doc' })));
    expect(sha256(bobFile)).toBe(sha256(bob));
  });

  it('answers 500 when the hook fails unexpectedly, refusing access', async () => {
    const srv = await start({
      authorize: () => {
        throw new Error('session store down');
      },
    });
    expect(await post(srv.url, 'x', 0, randomData(5))).toMatchObject({ status: 500, code: 'INTERNAL' });
    expect(await listFiles(srv.uploadDir).catch(() => [])).toEqual([]);
  });
});

describe('CORS', () => {
  it('answers preflights for allowed origins and exposes the protocol headers', async () => {
    const srv = await start({ corsOrigins: ['https://app.example'] });
    const pre = await call(`${srv.url}/upload`, {
      method: 'OPTIONS',
      headers: { Origin: 'https://app.example', 'Access-Control-Request-Method': 'POST', 'Access-Control-Request-Headers': 'x-file-id,x-start-byte' },
    });
    expect(pre.status).toBe(204);
    expect(pre.headers.get('access-control-allow-origin')).toBe('https://app.example');
    expect(pre.headers.get('access-control-allow-methods')).toContain('POST');
    for (const h of ['X-File-Id', 'X-Start-Byte', 'X-File-Size', 'X-File-Name', 'Content-Digest']) {
      expect(pre.headers.get('access-control-allow-headers')).toContain(h);
    }
    const r = await status(srv.url, 'c', { Origin: 'https://app.example' });
    expect(r.headers.get('access-control-allow-origin')).toBe('https://app.example');
    // A listed origin may send cookies; the answer depends on Origin, so caches must key on it.
    expect(r.headers.get('access-control-allow-credentials')).toBe('true');
    expect(r.headers.get('vary')).toContain('Origin');
    for (const h of ['X-Upload-Offset', 'X-Upload-Complete', 'X-File-Size', 'X-Error-Code']) {
      expect(r.headers.get('access-control-expose-headers')).toContain(h);
    }
    const other = await call(`${srv.url}/upload`, { method: 'OPTIONS', headers: { Origin: 'https://evil.example', 'Access-Control-Request-Method': 'POST' } });
    expect(other.headers.get('access-control-allow-origin')).toBeNull();
  });

  it('lets a cross-origin app send Authorization, and the headers listed in corsAllowedHeaders', async () => {
    const srv = await start({ corsOrigins: ['https://app.example'], corsAllowedHeaders: ['X-Request-Id'] });
    const pre = await call(`${srv.url}/upload`, {
      method: 'OPTIONS',
      headers: {
        Origin: 'https://app.example',
        'Access-Control-Request-Method': 'POST',
        'Access-Control-Request-Headers': 'authorization,x-file-id,x-request-id,x-start-byte',
      },
    });
    expect(pre.status).toBe(204);
    const allowed = (pre.headers.get('access-control-allow-headers') ?? '').toLowerCase().split(/\s*,\s*/);
    for (const h of ['authorization', 'x-file-id', 'x-start-byte', 'x-request-id']) expect(allowed).toContain(h);
  });

  it("allows any origin with '*', but never with credentials", async () => {
    const srv = await start({ corsOrigins: '*' });
    const r = await status(srv.url, 'c', { Origin: 'https://anything.example' });
    expect(r.headers.get('access-control-allow-origin')).toBe('*');
    // Otherwise any site could make cookie-authenticated calls, e.g. DELETE a logged-in user's uploads.
    expect(r.headers.get('access-control-allow-credentials')).toBeNull();
    expect(r.headers.get('access-control-expose-headers')).toContain('X-Upload-Offset');
    const pre = await call(`${srv.url}/upload`, { method: 'OPTIONS', headers: { Origin: 'https://anything.example', 'Access-Control-Request-Method': 'DELETE' } });
    expect(pre.headers.get('access-control-allow-origin')).toBe('*');
    expect(pre.headers.get('access-control-allow-credentials')).toBeNull();
    expect(pre.headers.get('access-control-allow-methods')).toContain('DELETE');
  });
});

describe('onComplete', () => {
  it('is called once with the finished file path and metadata', async () => {
    const calls: CompletedUpload[] = [];
    const srv = await start({ onComplete: (info) => void calls.push(info) });
    const data = randomData(4321);
    await post(srv.url, 'named', 0, data.subarray(0, 1000), { 'X-File-Size': '4321', 'X-File-Name': encodeURIComponent('résumé 1.pdf') });
    expect(calls).toHaveLength(0);
    await post(srv.url, 'named', 1000, data.subarray(1000));
    await post(srv.url, 'named', 4321, new Uint8Array(0));
    // The hook runs after the reply: wait for it, then make sure a repeat did not call it again.
    await waitFor(async () => calls.length > 0);
    await new Promise((r) => setTimeout(r, 50));
    expect(calls).toHaveLength(1);
    expect(calls[0]!.metadata).toMatchObject({ id: 'named', namespace: '', size: 4321, name: 'résumé 1.pdf' });
    expect(sha256(await readFile(calls[0]!.path))).toBe(sha256(data));
    const meta = JSON.parse(await readFile(`${calls[0]!.path}.json`, 'utf8')) as Record<string, unknown>;
    expect(meta).toMatchObject({ id: 'named', size: 4321, name: 'résumé 1.pdf' });
    expect(typeof meta['createdAt']).toBe('string');
    expect(typeof meta['completedAt']).toBe('string');
  });
});

describe('disk full', () => {
  it('answers 507 with the offset that is on disk, and resumes once space is back', async () => {
    let budget = 150_000;
    // Simulates a filling disk: writes what fits, then fails the way the kernel does.
    const writeChunks: WriteChunks = async (fh, buffers, position) => {
      const all = Buffer.concat(buffers);
      const fits = Math.max(0, Math.min(all.length, budget));
      budget -= fits;
      if (fits > 0) await writeAll(fh, [all.subarray(0, fits)], position);
      if (fits < all.length) throw Object.assign(new Error('ENOSPC: no space left on device'), { code: 'ENOSPC' });
    };
    const srv = await start();
    const storage = new FileStore({ dir: join(srv.dir, 'full'), writes: { chunks: writeChunks } });
    const handler = createUploadHandler({ storage });
    const http = createServer(handler);
    await new Promise<void>((r) => http.listen(0, '127.0.0.1', r));
    servers.push({ close: () => new Promise((r) => http.close(() => r())) });
    const url = `http://127.0.0.1:${(http.address() as AddressInfo).port}`;
    const data = randomData(3_000_000);
    const r = await post(url, 'full', 0, data, { 'X-File-Size': String(data.length) });
    expect(r).toMatchObject({ status: 507, code: 'DISK_FULL' });
    const held = +(await status(url, 'full')).body;
    expect(r.offset).toBe(held);
    expect(held).toBeLessThanOrEqual(150_000);
    budget = Number.POSITIVE_INFINITY;
    expect(await post(url, 'full', held, data.subarray(held))).toMatchObject({ status: 200, complete: true });
    expect(sha256(await readFile(storage.completedPath({ namespace: '', id: 'full' })))).toBe(sha256(data));
  });
});

describe('embedding', () => {
  it('serves under basePath and hands other paths to next()', async () => {
    const srv = await start();
    const handler = createUploadHandler({ uploadDir: srv.uploadDir, basePath: '/api/files/', sweepIntervalMs: 0 });
    const http = createServer((req, res) => handler(req, res, () => res.writeHead(418).end('teapot')));
    await new Promise<void>((r) => http.listen(0, '127.0.0.1', r));
    servers.push({ close: () => new Promise((r) => http.close(() => r())) });
    const url = `http://127.0.0.1:${(http.address() as AddressInfo).port}`;
    expect(await post(`${url}/api/files`, 'b', 0, randomData(10))).toMatchObject({ status: 200, complete: true });
    expect(await status(`${url}/api/files`, 'b')).toMatchObject({ body: '10' });
    expect((await call(`${url}/upload`)).status).toBe(418);
    expect((await call(`${url}/api/files/other`)).status).toBe(418);
    await handler.close();
  });

  it('startServer serves static files safely beside the API', async () => {
    const srv = await start();
    const web = join(srv.dir, 'web');
    await mkdir(join(web, 'assets'), { recursive: true });
    await writeFile(join(web, 'index.html'), '<h1>hi</h1>');
    await writeFile(join(web, 'sw.js'), 'self.x=1');
    await writeFile(join(web, 'assets', 'a.webmanifest'), '{}');
    await writeFile(join(srv.dir, 'secret.txt'), 'secret');
    const s = await start({ staticDir: web });
    const index = await call(`${s.url}/`);
    expect(index).toMatchObject({ status: 200, body: '<h1>hi</h1>' });
    expect(index.headers.get('content-type')).toContain('text/html');
    const sw = await call(`${s.url}/sw.js`);
    expect(sw.headers.get('content-type')).toContain('text/javascript');
    expect(sw.headers.get('cache-control')).toBe('no-cache');
    expect((await call(`${s.url}/assets/a.webmanifest`)).headers.get('content-type')).toContain('application/manifest+json');
    for (const p of ['/%2e%2e/secret.txt', '/..%2fsecret.txt', '/assets/%2e%2e/%2e%2e/secret.txt', '/%00']) {
      const r = await call(`${s.url}${p}`);
      expect(r.status).toBe(404);
      expect(r.body).not.toContain('secret');
    }
    expect((await status(s.url, 'api-beside-static')).status).toBe(200);
  });
});
