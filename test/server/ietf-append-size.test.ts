// The operator's bounds on one IETF append (ietfAppendSize → Upload-Limit min-append-size and
// max-append-size), at the real server over loopback: announced, enforced by Content-Length with a
// reason, a body without one cut at the max with what arrived kept, and refused when contradictory.
import { readdir } from 'node:fs/promises';
import { request } from 'node:http';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createUploadHandler } from '../../server/index.js';
import { startTestServer, type TestServer } from '../helpers/server.js';
import { randomData } from './client.js';
import { draftRequest } from './ietf-client.js';

const MIN = 1000;
const MAX = 5000;
let srv: TestServer;
beforeAll(async () => {
  srv = await startTestServer({ maxUploadSize: 1_000_000, ietfAppendSize: { min: MIN, max: MAX } });
});
afterAll(async () => {
  await srv.close();
});

const PARTIAL = { 'Content-Type': 'application/partial-upload' };
const abs = (location: string): string => new URL(location, srv.url).href;
const head = (url: string) => draftRequest({ method: 'HEAD', url });
const append = (url: string, offset: number, body: Uint8Array, complete: boolean) =>
  draftRequest({ method: 'PATCH', url, headers: { ...PARTIAL, 'Upload-Offset': String(offset), 'Upload-Complete': complete ? '?1' : '?0' }, body });

async function created(length: number): Promise<string> {
  const r = await draftRequest({ method: 'POST', url: `${srv.url}/files/`, headers: { 'Upload-Complete': '?0', 'Upload-Length': String(length) }, body: new Uint8Array(0) });
  expect(r.status).toBe(201); // an empty creation is exempt from min-append-size
  return abs(r.headers['location']!);
}

/** A request whose body goes chunked (no Content-Length): the server learns its size only by reading it. */
function chunked(method: string, url: string, headers: Record<string, string>, body: Uint8Array): Promise<{ status: number; headers: Record<string, string | string[] | undefined>; text: string }> {
  return new Promise((resolve, reject) => {
    const u = new URL(url);
    const req = request(
      { method, hostname: u.hostname, port: u.port, path: u.pathname, headers: { 'Upload-Draft-Interop-Version': '8', 'Sec-Fetch-Mode': 'cors', ...headers, 'Transfer-Encoding': 'chunked' } },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => (text += c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, text }));
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

/** How many unfinished uploads the disk store holds. */
const partials = async (): Promise<number> => (await readdir(join(srv.dir, 'uploads', 'partial')).catch(() => [] as string[])).filter((n) => !n.startsWith('.')).length;

describe('ietfAppendSize: the bounds on one append', () => {
  it('are announced in Upload-Limit: OPTIONS, creation, HEAD and append answers', async () => {
    const options = await draftRequest({ method: 'OPTIONS', url: `${srv.url}/files/` });
    expect(options.headers['upload-limit']).toBe(`max-size=1000000, max-append-size=${MAX}, min-append-size=${MIN}`);
    const url = await created(3000);
    expect((await head(url)).headers['upload-limit']).toContain(`max-append-size=${MAX}, min-append-size=${MIN}`);
    const r = await append(url, 0, randomData(MIN), false);
    expect(r.status).toBe(204);
    expect(r.headers['upload-limit']).toContain(`min-append-size=${MIN}`);
  });

  it('an append under min-append-size that does not complete the upload: 400 with the reason, nothing written; the completing one may be smaller', async () => {
    const data = randomData(1500);
    const url = await created(data.length);
    const small = await append(url, 0, data.subarray(0, 999), false);
    expect(small.status).toBe(400);
    expect(small.body).toContain(`at least ${MIN} bytes (Upload-Limit min-append-size); this one has 999`);
    expect(small.headers['upload-limit']).toContain(`min-append-size=${MIN}`);
    expect((await head(url)).headers['upload-offset']).toBe('0');
    expect((await append(url, 0, data.subarray(0, 1000), false)).status).toBe(204);
    const last = await append(url, 1000, data.subarray(1000), true); // 500 bytes: completes, so exempt
    expect(last.status).toBe(200);
    expect(last.headers['upload-complete']).toBe('?1');
  });

  it('an append over max-append-size: 413 before a byte is written, Upload-Limit says why', async () => {
    const url = await created(20_000);
    const big = await append(url, 0, randomData(MAX + 1), false);
    expect(big.status).toBe(413);
    expect(big.body).toContain(`at most ${MAX} bytes (Upload-Limit max-append-size)`);
    expect(big.headers['upload-limit']).toContain(`max-append-size=${MAX}`);
    expect((await head(url)).headers['upload-offset']).toBe('0');
    expect((await append(url, 0, randomData(MAX), false)).status).toBe(204);
  });

  it('a completing append over max-append-size: 413 too', async () => {
    const url = await created(MAX + 1);
    expect((await append(url, 0, randomData(MAX + 1), true)).status).toBe(413);
    expect((await head(url)).headers['upload-offset']).toBe('0');
  });

  it('a body without Content-Length is cut at max-append-size: 413 saying so, the bytes up to it kept', async () => {
    const data = randomData(8000);
    const url = await created(data.length);
    const r = await chunked('PATCH', url, { ...PARTIAL, 'Upload-Offset': '0', 'Upload-Complete': '?0' }, data);
    expect(r.status).toBe(413);
    expect(r.text).toContain(`one request may carry at most ${MAX} bytes`);
    expect(r.headers['upload-offset']).toBe(String(MAX));
    expect((await head(url)).headers['upload-offset']).toBe(String(MAX));
  });

  it('a creation whose body breaks the bounds is refused before the upload exists: no Location, nothing left behind', async () => {
    const before = await partials();
    const small = await draftRequest({ method: 'POST', url: `${srv.url}/files/`, headers: { 'Upload-Complete': '?0', 'Upload-Length': '3000' }, body: randomData(10) });
    expect(small.status).toBe(400);
    const big = await draftRequest({ method: 'POST', url: `${srv.url}/files/`, headers: { 'Upload-Complete': '?1' }, body: randomData(MAX + 1) });
    expect(big.status).toBe(413);
    for (const r of [small, big]) expect(r.headers['location']).toBeUndefined();
    expect(await partials()).toBe(before);
  });

  it('a creation without Content-Length cut at max-append-size: 413 with the Location of what was kept, to resume from', async () => {
    const data = randomData(8000);
    const r = await chunked('POST', `${srv.url}/files/`, { 'Upload-Complete': '?0', 'Upload-Length': String(data.length) }, data);
    expect(r.status).toBe(413);
    const url = abs(String(r.headers['location']));
    expect((await head(url)).headers['upload-offset']).toBe(String(MAX));
    const last = await append(url, MAX, data.subarray(MAX), true);
    expect(last.status).toBe(200);
  });

  it('any refusal of a creation that made its upload names it: a complete creation whose streamed body falls short of its length', async () => {
    const r = await chunked('POST', `${srv.url}/files/`, { 'Upload-Complete': '?1', 'Upload-Length': '4000' }, randomData(3000));
    expect(r.status).toBe(400);
    const url = abs(String(r.headers['location']));
    expect((await head(url)).headers['upload-offset']).toBe('3000');
  });

  it('a min above the max is refused when the handler is made, naming both', () => {
    expect(() => createUploadHandler({ ietfAppendSize: { min: 10, max: 5 } })).toThrow('ietfAppendSize.min (10) is above ietfAppendSize.max (5)');
    expect(() => createUploadHandler({ ietfAppendSize: { min: 0 } })).toThrow('ietfAppendSize.min must be a whole number of bytes ≥ 1, got 0');
  });
});
