// The tus transport against a scripted fetch: what it sends, and what each answer means.
import { describe, expect, it } from 'vitest';
import { refusalOf, TusTransport, type TusCapabilities } from '../../sw/transport/tus.js';
import type { TransportUpload } from '../../sw/transport/port.js';
import { ctx, overFetch, ScriptedFetch, type Answer, type FetchCall } from './kit/scripted-fetch.js';

const ORIGIN = 'https://app.example';
const ENDPOINT = 'https://tus.example/files/';
const OPTIONS: Answer = {
  status: 204,
  headers: { 'Tus-Version': '1.0.0', 'Tus-Extension': 'creation,creation-with-upload,termination,checksum', 'Tus-Checksum-Algorithm': 'sha1,sha256', 'Tus-Max-Size': '1000000000' },
};
const upload = (size: number, remote?: Record<string, string>): TransportUpload => ({
  id: 'u1',
  fileId: 'f',
  endpoint: ENDPOINT,
  protocol: 'tus',
  name: 'résumé.pdf',
  type: 'application/pdf',
  size,
  ...(remote === undefined ? {} : { remote }),
});
const body = (n: number): Blob => new Blob([new Uint8Array(n)]);

function transport(respond: (call: FetchCall) => Answer | undefined, digest = false): { t: TusTransport; f: ScriptedFetch } {
  const f = new ScriptedFetch((call) => (call.method === 'OPTIONS' ? OPTIONS : (respond(call) ?? { status: 500, text: 'unscripted' })));
  return { t: new TusTransport({ ...overFetch(f, ORIGIN), digest }), f };
}

describe('refusalOf: servers this worker cannot use', () => {
  const caps = (c: Partial<TusCapabilities>): TusCapabilities => ({ versions: ['1.0.0'], extensions: ['creation', 'checksum'], checksums: ['sha256'], maxSize: undefined, ...c });
  it.each([
    ['usable', caps({}), true, undefined],
    ['another version', caps({ versions: ['0.2.2'] }), false, 'speaks tus 0.2.2, not 1.0.0'],
    ['no creation', caps({ extensions: ['termination'] }), false, 'no creation extension'],
    ['too small for the file', caps({ maxSize: 10 }), false, 'takes files up to 10 bytes'],
    ['no checksum extension, digests on', caps({ extensions: ['creation'] }), true, 'no checksum extension'],
    ['no checksum extension, digests off', caps({ extensions: ['creation'] }), false, undefined],
    ['sha1 only', caps({ checksums: ['sha1', 'md5'] }), true, 'checks sha1, md5 checksums, not sha256'],
    ['algorithms not exposed by CORS', caps({ checksums: undefined }), true, 'Tus-Checksum-Algorithm missing or not exposed'],
    ['headers not exposed at all: unknown is not a refusal', { versions: undefined, extensions: undefined, checksums: undefined, maxSize: undefined }, false, undefined],
  ])('%s', (_name, c, digest, why) => {
    const refusal = refusalOf(c, { size: 100 }, digest);
    if (why === undefined) expect(refusal).toBeUndefined();
    else expect(refusal).toContain(why);
  });
});

describe('TusTransport', () => {
  it('a small file: no request at status; created with its bytes, metadata and checksum; a relative Location kept as an absolute URL', async () => {
    const { t, f } = transport((c) => (c.method === 'POST' ? { status: 201, headers: { Location: '/files/abc', 'Upload-Offset': '10' } } : undefined), true);
    expect(await t.status(upload(10), ctx())).toEqual({ kind: 'offset', offset: 0, complete: false });
    expect(f.lines()).toEqual(['OPTIONS /files/']);
    const out = await t.append(upload(10), { start: 0, body: body(10), sha256: 'c2hh' }, ctx());
    expect(out).toEqual({ kind: 'offset', offset: 10, complete: true, remote: { url: 'https://tus.example/files/abc', fresh: '1' } });
    const post = f.calls[1]!;
    expect(post).toMatchObject({ method: 'POST', url: ENDPOINT, bodyBytes: 10 });
    expect(post.headers).toMatchObject({
      'tus-resumable': '1.0.0',
      'upload-length': '10',
      'upload-metadata': `filename ${Buffer.from('résumé.pdf').toString('base64')},filetype ${Buffer.from('application/pdf').toString('base64')}`,
      'content-type': 'application/offset+octet-stream',
      'upload-checksum': 'sha256 c2hh',
      authorization: 'Bearer t',
    });
  });

  it('a large file: created empty at status, then PATCHes from the offset; the first answer confirms the URL', async () => {
    const { t, f } = transport((c): Answer | undefined => {
      if (c.method === 'POST') return { status: 201, headers: { Location: 'https://tus.example/files/big' } };
      if (c.method === 'PATCH') return { status: 204, headers: { 'Upload-Offset': String(Number(c.headers['upload-offset']) + c.bodyBytes) } };
      return undefined;
    });
    const created = await t.status(upload(1_000_000), ctx());
    expect(created).toEqual({ kind: 'offset', offset: 0, complete: false, remote: { url: 'https://tus.example/files/big', fresh: '1' } });
    expect(f.calls[1]).toMatchObject({ method: 'POST', bodyBytes: 0 });
    const fresh = upload(1_000_000, { url: 'https://tus.example/files/big', fresh: '1' });
    expect(await t.append(fresh, { start: 0, body: body(400_000) }, ctx())).toEqual({ kind: 'offset', offset: 400_000, complete: false, remote: { url: 'https://tus.example/files/big' } });
    const known = upload(1_000_000, { url: 'https://tus.example/files/big' });
    expect(await t.append(known, { start: 400_000, body: body(600_000) }, ctx())).toEqual({ kind: 'offset', offset: 1_000_000, complete: true });
    expect(f.calls[3]!.headers).toMatchObject({ 'upload-offset': '400000', 'content-type': 'application/offset+octet-stream' });
    expect(f.calls[3]!.headers['upload-checksum']).toBeUndefined();
  });

  it('a chunk smaller than a new small file: the upload is created first and the chunk sent again', async () => {
    const { t } = transport((c) => (c.method === 'POST' ? { status: 201, headers: { Location: '/files/s' } } : undefined));
    expect(await t.append(upload(100), { start: 0, body: body(50) }, ctx())).toEqual({ kind: 'offset', offset: 0, complete: false, remote: { url: 'https://tus.example/files/s', fresh: '1' } });
  });

  it('resumes by HEAD: the offset held; complete once it equals the size; a URL of another length is refused', async () => {
    const { t, f } = transport((c) => (c.method === 'HEAD' ? { status: 200, headers: { 'Upload-Offset': '70', 'Upload-Length': c.url.endsWith('other') ? '5' : '100' } } : undefined));
    expect(await t.status(upload(100, { url: 'https://tus.example/files/x' }), ctx())).toEqual({ kind: 'offset', offset: 70, complete: false });
    expect(f.calls.at(-1)!.headers['tus-resumable']).toBe('1.0.0');
    const other = await t.status(upload(100, { url: 'https://tus.example/files/other' }), ctx());
    expect(other.kind === 'failed' && other.error.code).toBe('REJECTED');
  });

  it('404/410 for a confirmed URL: a new upload from zero; for a URL never confirmed: REJECTED, no loop', async () => {
    for (const gone of [404, 410]) {
      const { t, f } = transport((c) => (c.method === 'HEAD' || c.method === 'PATCH' ? { status: gone } : c.method === 'POST' ? { status: 201, headers: { Location: '/files/new' } } : undefined));
      const restarted = await t.status(upload(1_000_000, { url: 'https://tus.example/files/old' }), ctx());
      expect(restarted).toEqual({ kind: 'offset', offset: 0, complete: false, remote: { url: 'https://tus.example/files/new', fresh: '1' } });
      const lost = await t.append(upload(1_000_000, { url: 'https://tus.example/files/new', fresh: '1' }), { start: 0, body: body(10) }, ctx());
      expect(lost.kind === 'failed' && lost.error).toMatchObject({ code: 'REJECTED', status: gone });
      expect(f.lines().filter((l) => l.startsWith('POST'))).toHaveLength(1);
    }
  });

  it.each([
    [{ status: 409 } as Answer, { kind: 'conflict', offset: undefined, complete: false }],
    [{ status: 409, headers: { 'Upload-Offset': '33' } } as Answer, { kind: 'conflict', offset: 33, complete: false }],
  ])('PATCH answered %j → %j', async (answer, want) => {
    const { t } = transport((c) => (c.method === 'PATCH' ? answer : undefined));
    expect(await t.append(upload(100, { url: 'https://tus.example/files/x' }), { start: 0, body: body(10) }, ctx())).toEqual(want);
  });

  it.each([
    [412, { 'Tus-Version': '0.2.2,0.2.1' }, 'REJECTED', 'does not speak tus 1.0.0 (it speaks 0.2.2,0.2.1)'],
    [460, {}, 'CORRUPTED', 'HTTP 460'],
    [423, {}, 'SERVER', 'HTTP 423'],
    [413, {}, 'REJECTED', 'HTTP 413'],
    [503, { 'Retry-After': '3' }, 'SERVER', 'HTTP 503'],
  ])('PATCH answered %i → %s', async (status, headers, code, message) => {
    const { t } = transport((c) => (c.method === 'PATCH' ? { status, headers, text: 'why' } : undefined));
    const out = await t.append(upload(100, { url: 'https://tus.example/files/x' }), { start: 0, body: body(10) }, ctx());
    expect(out.kind).toBe('failed');
    if (out.kind === 'failed') {
      expect(out.error.code).toBe(code);
      expect(out.error.message).toContain(message);
    }
  });

  it('with digests on, a server without sha256 checksums is refused before anything is created, clearly', async () => {
    const f = new ScriptedFetch((c) => (c.method === 'OPTIONS' ? { status: 204, headers: { 'Tus-Version': '1.0.0', 'Tus-Extension': 'creation,termination' } } : { status: 500 }));
    const t = new TusTransport({ ...overFetch(f, ORIGIN), digest: true });
    const out = await t.status(upload(1_000_000), ctx());
    expect(out.kind === 'failed' && out.error).toMatchObject({ code: 'REJECTED' });
    expect(out.kind === 'failed' && out.error.message).toContain('digest: false');
    expect(f.lines()).toEqual(['OPTIONS /files/']);
  });

  it('asks OPTIONS once per endpoint', async () => {
    const { t, f } = transport((c) => (c.method === 'HEAD' ? { status: 200, headers: { 'Upload-Offset': '0', 'Upload-Length': '100' } } : undefined));
    await t.status(upload(100, { url: 'https://tus.example/files/x' }), ctx());
    await t.status(upload(100, { url: 'https://tus.example/files/y' }), ctx());
    expect(f.lines()).toEqual(['OPTIONS /files/', 'HEAD /files/x', 'HEAD /files/y']);
  });

  it('cancel: DELETE the URL (a 404 is fine); nothing to do without one', async () => {
    const { t, f } = transport((c) => (c.method === 'DELETE' ? { status: 404 } : undefined));
    expect(await t.cancel(upload(100), ctx())).toEqual({ kind: 'offset', offset: 0, complete: false });
    expect(f.calls).toHaveLength(0);
    expect(await t.cancel(upload(100, { url: 'https://tus.example/files/x' }), ctx())).toEqual({ kind: 'offset', offset: 0, complete: false });
    expect(f.calls[0]).toMatchObject({ method: 'DELETE', headers: { 'tus-resumable': '1.0.0' } });
  });
});

describe('no answer: network or CORS (one HttpExchange for every transport)', () => {
  const flaky = (refuse: (c: FetchCall) => boolean) => transport((c) => (refuse(c) ? 'refused' : { status: 200, headers: { 'Upload-Offset': '0', 'Upload-Length': '100' } }));
  const known = upload(100, { url: 'https://tus.example/files/x' });

  it('the server answers a no-cors probe but no CORS request: CORS, with the origin in the message', async () => {
    const { t, f } = flaky((c) => c.mode !== 'no-cors');
    const out = await t.status(known, ctx());
    expect(out.kind === 'failed' && out.error.code).toBe('CORS');
    expect(out.kind === 'failed' && out.error.message).toContain(ORIGIN);
    expect(f.lines()).toEqual(['OPTIONS /files/', 'HEAD /files/x', 'HEAD /files/x', 'HEAD /files/x (no-cors)']);
  });

  it('nothing answers: NETWORK', async () => {
    const { t } = flaky(() => true);
    const out = await t.status(known, ctx());
    expect(out.kind === 'failed' && out.error.code).toBe('NETWORK');
  });

  it('the request failed but a CORS probe gets through: the network dropped it, NETWORK', async () => {
    let first = true;
    const { t } = flaky((c) => {
      if (c.method !== 'HEAD' || !first) return false;
      first = false;
      return true;
    });
    const out = await t.status(known, ctx());
    expect(out.kind === 'failed' && out.error.code).toBe('NETWORK');
  });

  it('same origin: no probe', async () => {
    const f = new ScriptedFetch(() => 'refused');
    const t = new TusTransport({ ...overFetch(f, 'https://tus.example'), digest: false });
    const out = await t.status(known, ctx());
    expect(out.kind === 'failed' && out.error.code).toBe('NETWORK');
    expect(f.calls).toHaveLength(1);
  });
});
