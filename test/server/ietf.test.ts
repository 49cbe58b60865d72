// The IETF draft "Resumable Uploads for HTTP", interop version 8, at /files/ of the real server,
// through a raw client that follows the draft: optimistic creation with the 104, a cut and a
// resume, careful creation (a browser's), 409 offset mismatches, inconsistent lengths, limits.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { CompletedUpload } from '../../server/index.js';
import { startTestServer, type TestServer } from '../helpers/server.js';
import { until } from '../../lab/poll.js';
import { digestOf, randomData, sha256 } from './client.js';
import { draftRequest } from './ietf-client.js';

let srv: TestServer;
const completed: CompletedUpload[] = [];
const MAX = 10_000_000;
beforeAll(async () => {
  srv = await startTestServer({ maxUploadSize: MAX, onComplete: (info) => void completed.push(info) });
});
afterAll(async () => {
  await srv.close();
});

const PARTIAL = { 'Content-Type': 'application/partial-upload' };
const abs = (location: string): string => new URL(location, srv.url).href;
const head = (url: string) => draftRequest({ method: 'HEAD', url });
const append = (url: string, offset: number, body: Uint8Array, complete: boolean, extra: Record<string, string> = {}) =>
  draftRequest({ method: 'PATCH', url, headers: { ...PARTIAL, 'Upload-Offset': String(offset), 'Upload-Complete': complete ? '?1' : '?0', ...extra }, body });
const onComplete = (size: number): Promise<CompletedUpload> => until('onComplete', () => completed.find((c) => c.metadata.size === size));

describe('optimistic creation (a native client: it sees the 104)', () => {
  it('the whole body in one POST: 104 with Location, Upload-Limit and the interop version, then the final 200 with Upload-Complete: ?1', async () => {
    const data = randomData(100_000);
    const r = await draftRequest({
      method: 'POST',
      url: `${srv.url}/files/`,
      headers: { 'Upload-Complete': '?1', 'Upload-Length': String(data.length), 'Content-Type': 'image/jpeg', 'Content-Disposition': "inline; filename*=UTF-8''r%C3%A9sum%C3%A9.jpg" },
      body: data,
    });
    expect(r.informational).toHaveLength(1);
    const info = r.informational[0]!;
    expect(info.status).toBe(104);
    expect(info.headers['location']).toMatch(/^\/files\/[A-Za-z0-9_-]{24}$/);
    expect(info.headers['upload-draft-interop-version']).toBe('8');
    expect(info.headers['upload-limit']).toContain(`max-size=${MAX}`);
    expect(r.status).toBe(200);
    expect(r.headers['upload-complete']).toBe('?1');
    const done = await onComplete(data.length);
    expect(done.metadata).toMatchObject({ name: 'résumé.jpg', type: 'image/jpeg' });
    expect(sha256(await readFile(done.path))).toBe(sha256(data));
    // The upload resource answers after completion too.
    const h = await head(abs(info.headers['location']!));
    expect(h.headers['upload-complete']).toBe('?1');
    expect(h.headers['upload-offset']).toBe(String(data.length));
  });

  it('a creation cut mid-body resumes from the Location of its 104: HEAD, then PATCH the rest', async () => {
    const data = randomData(400_000);
    const cut = await draftRequest({ method: 'POST', url: `${srv.url}/files/`, headers: { 'Upload-Complete': '?1' }, body: data, cutAfter: 150_000 });
    expect(cut.status).toBe(0);
    const url = abs(cut.informational[0]!.headers['location']!);
    // HEAD is a takeover point: it ends the cut request's writer and answers what it left.
    const h = await head(url);
    expect(h.status).toBe(204);
    expect(h.headers['upload-complete']).toBe('?0');
    expect(h.headers['upload-length']).toBe(String(data.length));
    expect(h.headers['upload-limit']).toContain('max-size');
    expect(h.headers['cache-control']).toBe('no-store');
    const offset = Number(h.headers['upload-offset']);
    expect(offset).toBeGreaterThanOrEqual(0);
    expect(offset).toBeLessThanOrEqual(150_000);
    const r = await append(url, offset, data.subarray(offset), true);
    expect(r.status).toBe(200);
    expect(r.headers['upload-complete']).toBe('?1');
    const done = await onComplete(data.length);
    expect(sha256(await readFile(done.path))).toBe(sha256(data));
  });
});

describe('careful creation (a browser: no 104, so an empty or partial POST first)', () => {
  it('no 104 for a request with Origin or Sec-Fetch-Mode; 201 + Location + Upload-Limit; appends; the last completes', async () => {
    const data = randomData(30_000);
    for (const browser of [{ Origin: 'http://app.example' }, { 'Sec-Fetch-Mode': 'cors' }] as Array<Record<string, string>>) {
      const r = await draftRequest({ method: 'POST', url: `${srv.url}/files/`, headers: { 'Upload-Complete': '?0', 'Upload-Length': String(data.length), ...browser }, body: data.subarray(0, 10_000) });
      expect(r.informational).toEqual([]);
      expect(r.status).toBe(201);
      expect(r.headers['upload-complete']).toBe('?0');
      expect(r.headers['upload-offset']).toBe('10000');
      expect(r.headers['upload-limit']).toMatch(/max-size=\d+, max-age=\d+/);
      const url = abs(r.headers['location']!);
      const mid = await append(url, 10_000, data.subarray(10_000, 20_000), false);
      expect(mid.status).toBe(204);
      expect(mid.headers['upload-complete']).toBe('?0');
      expect(mid.headers['upload-offset']).toBe('20000');
      const last = await append(url, 20_000, data.subarray(20_000), true);
      expect(last.status).toBe(200);
      expect(last.headers['upload-complete']).toBe('?1');
    }
  });

  it('an empty creation with ?0, then the whole body; a length learnt from the completing append', async () => {
    const data = randomData(5000);
    const r = await draftRequest({ method: 'POST', url: `${srv.url}/files/`, headers: { 'Upload-Complete': '?0' }, body: new Uint8Array(0) });
    expect(r.status).toBe(201);
    const url = abs(r.headers['location']!);
    expect((await head(url)).headers['upload-length']).toBeUndefined();
    expect((await append(url, 0, data, true)).status).toBe(200);
    expect((await head(url)).headers['upload-length']).toBe('5000');
  });

  it('an empty representation: creation with ?1 and no body completes at once', async () => {
    const r = await draftRequest({ method: 'POST', url: `${srv.url}/files/`, headers: { 'Upload-Complete': '?1', 'Content-Disposition': 'inline; filename="zero.txt"' }, body: new Uint8Array(0) });
    expect(r.status).toBe(200);
    await until('onComplete', () => completed.find((c) => c.metadata.name === 'zero.txt'));
  });
});

describe('mismatches, lengths, limits, versions', () => {
  async function created(length?: number): Promise<string> {
    const r = await draftRequest({ method: 'POST', url: `${srv.url}/files/`, headers: { 'Upload-Complete': '?0', ...(length === undefined ? {} : { 'Upload-Length': String(length) }) }, body: new Uint8Array(0) });
    return abs(r.headers['location']!);
  }

  it('an append at the wrong offset: 409, Upload-Complete: ?0, the right Upload-Offset, the mismatching-upload-offset problem', async () => {
    const url = await created(100);
    await append(url, 0, randomData(30), false);
    const r = await append(url, 50, randomData(10), false);
    expect(r.status).toBe(409);
    expect(r.headers['upload-complete']).toBe('?0');
    expect(r.headers['upload-offset']).toBe('30');
    expect(r.headers['content-type']).toBe('application/problem+json');
    expect(JSON.parse(r.body)).toEqual({
      type: 'https://iana.org/assignments/http-problem-types#mismatching-upload-offset',
      title: 'offset from request does not match offset of resource',
      'expected-offset': 30,
      'provided-offset': 50,
    });
    expect((await head(url)).headers['upload-offset']).toBe('30');
  });

  it.each([
    ['Upload-Length differs from Content-Length on a complete creation', 'POST', { 'Upload-Complete': '?1', 'Upload-Length': '99' }],
    ['a completing append whose Content-Length ends elsewhere than the length', 'PATCH', { 'Upload-Complete': '?1' }],
    ['an append with another Upload-Length', 'PATCH', { 'Upload-Complete': '?0', 'Upload-Length': '7' }],
  ])('%s: 400, the inconsistent-upload-length problem', async (_what, method, headers) => {
    const url = method === 'POST' ? `${srv.url}/files/` : await created(100);
    const r = await draftRequest({ method, url, headers: { ...(method === 'PATCH' ? { ...PARTIAL, 'Upload-Offset': '0' } : {}), ...headers }, body: randomData(10) });
    expect(r.status).toBe(400);
    expect(JSON.parse(r.body).type).toBe('https://iana.org/assignments/http-problem-types#inconsistent-upload-length');
  });

  it('an upload past max-size: 413 with Upload-Limit', async () => {
    const r = await draftRequest({ method: 'POST', url: `${srv.url}/files/`, headers: { 'Upload-Complete': '?0', 'Upload-Length': String(MAX + 1) }, body: new Uint8Array(0) });
    expect(r.status).toBe(413);
    expect(r.headers['upload-limit']).toContain(`max-size=${MAX}`);
  });

  it('an append of another media type: 415; without Upload-Complete: 400', async () => {
    const url = await created(10);
    expect((await draftRequest({ method: 'PATCH', url, headers: { 'Content-Type': 'application/octet-stream', 'Upload-Offset': '0', 'Upload-Complete': '?0' }, body: randomData(3) })).status).toBe(415);
    expect((await draftRequest({ method: 'PATCH', url, headers: { ...PARTIAL, 'Upload-Offset': '0' }, body: randomData(3) })).status).toBe(400);
  });

  it('Content-Digest (RFC 9530): a body that does not match is not appended', async () => {
    const url = await created(10);
    const good = randomData(10);
    const bad = await append(url, 0, good, true, { 'Content-Digest': digestOf(randomData(10)) });
    expect(bad.status).toBe(400);
    expect(bad.headers['x-error-code']).toBe('DIGEST_MISMATCH');
    expect((await head(url)).headers['upload-offset']).toBe('0');
    expect((await append(url, 0, good, true, { 'Content-Digest': digestOf(good) })).status).toBe(200);
  });

  it('a completed upload replays its final answer to a valid empty completing append', async () => {
    const url = await created(3);
    await append(url, 0, randomData(3), true);
    const again = await append(url, 3, new Uint8Array(0), true);
    expect(again.status).toBe(200);
    expect(again.headers['upload-complete']).toBe('?1');
  });

  it('cancellation: DELETE, then 404', async () => {
    const url = await created(10);
    expect((await draftRequest({ method: 'DELETE', url })).status).toBe(204);
    expect((await head(url)).status).toBe(404);
  });

  it('OPTIONS: Upload-Limit', async () => {
    const r = await draftRequest({ method: 'OPTIONS', url: `${srv.url}/files/` });
    expect(r.status).toBe(204);
    expect(r.headers['upload-limit']).toBe(`max-size=${MAX}`);
  });

  it.each([['6'], ['9'], ['eight']])('interop version %s: 412 naming version 8, nothing created, no 104', async (version) => {
    const r = await draftRequest({ method: 'POST', url: `${srv.url}/files/`, headers: { 'Upload-Draft-Interop-Version': version, 'Upload-Complete': '?1' }, body: randomData(10) });
    expect(r.status).toBe(412);
    expect(r.informational).toEqual([]);
    expect(r.body).toContain('interop version 8');
    expect(r.headers['location']).toBeUndefined();
  });
});

describe('an append that reaches the length without completing (Upload-Complete: ?0)', () => {
  it('with a Content-Digest: its bytes are acknowledged, so HEAD and a restarted server say so, and an empty ?1 completes it', async () => {
    const uploadDir = await mkdtemp(join(tmpdir(), 'ru-ietf-ack-'));
    const own = await startTestServer({ sweepIntervalMs: 0, uploadDir });
    try {
      const data = randomData(10);
      const r = await draftRequest({ method: 'POST', url: `${own.url}/files/`, headers: { 'Upload-Complete': '?0', 'Upload-Length': '10' }, body: new Uint8Array(0) });
      const url = new URL(r.headers['location']!, own.url).href;
      const patch = await draftRequest({ method: 'PATCH', url, headers: { ...PARTIAL, 'Upload-Offset': '0', 'Upload-Complete': '?0', 'Content-Digest': digestOf(data) }, body: data });
      expect(patch.status).toBe(204);
      expect(patch.headers['upload-offset']).toBe('10');
      expect((await draftRequest({ method: 'HEAD', url })).headers['upload-offset']).toBe('10');
      await own.close();
      // The same directory, a new process state: what was acknowledged must still be there.
      const again = await startTestServer({ sweepIntervalMs: 0, uploadDir, port: own.port });
      try {
        const h = await draftRequest({ method: 'HEAD', url });
        expect([h.status, h.body]).toEqual([204, '']);
        expect(h.headers['upload-offset']).toBe('10');
        const done = await draftRequest({ method: 'PATCH', url, headers: { ...PARTIAL, 'Upload-Offset': '10', 'Upload-Complete': '?1' }, body: new Uint8Array(0) });
        expect(done.status).toBe(200);
      } finally {
        await again.close();
      }
    } finally {
      await own.close().catch(() => undefined);
      await rm(uploadDir, { recursive: true, force: true });
    }
  });
});
