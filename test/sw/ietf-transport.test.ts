// The IETF draft transport (interop version 8, the browser flow) against a scripted fetch.
import { describe, expect, it } from 'vitest';
import { IetfTransport } from '../../sw/transport/ietf.js';
import type { TransportUpload } from '../../sw/transport/port.js';
import { ctx, overFetch, ScriptedFetch, type Answer, type FetchCall } from './kit/scripted-fetch.js';

const ENDPOINT = 'https://up.example/files/';
const upload = (size: number, remote?: Record<string, string>): TransportUpload => ({
  id: 'u1',
  fileId: 'f',
  endpoint: ENDPOINT,
  protocol: 'ietf',
  name: 'a b.jpg',
  type: 'image/jpeg',
  size,
  ...(remote === undefined ? {} : { remote }),
});
const body = (n: number): Blob => new Blob([new Uint8Array(n)]);
const URL_X = 'https://up.example/files/x';

function transport(respond: (call: FetchCall) => Answer | undefined): { t: IetfTransport; f: ScriptedFetch } {
  const f = new ScriptedFetch((call) => respond(call) ?? { status: 500, text: 'unscripted' });
  return { t: new IetfTransport(overFetch(f, 'https://app.example')), f };
}

describe('IetfTransport', () => {
  it('every request carries Upload-Draft-Interop-Version: 8', async () => {
    const { t, f } = transport(() => ({ status: 204, headers: { 'Upload-Offset': '0', 'Upload-Complete': '?0' } }));
    await t.status(upload(100, { url: URL_X }), ctx());
    await t.append(upload(100, { url: URL_X }), { start: 0, body: body(10) }, ctx());
    await t.cancel(upload(100, { url: URL_X }), ctx());
    expect(f.calls.map((c) => c.headers['upload-draft-interop-version'])).toEqual(['8', '8', '8']);
  });

  it('a large file: an empty creation with ?0, its Upload-Length, name and type; the 201 Location kept', async () => {
    const { t, f } = transport((c) => (c.method === 'POST' ? { status: 201, headers: { Location: '/files/new', 'Upload-Limit': 'max-size=10000000' } } : undefined));
    expect(await t.status(upload(1_000_000), ctx())).toEqual({ kind: 'offset', offset: 0, complete: false, remote: { url: 'https://up.example/files/new', fresh: '1' } });
    expect(f.calls[0]).toMatchObject({ method: 'POST', bodyBytes: 0 });
    expect(f.calls[0]!.headers).toMatchObject({ 'upload-complete': '?0', 'upload-length': '1000000', 'content-type': 'image/jpeg' });
    expect(f.calls[0]!.headers['content-disposition']).toContain("filename*=UTF-8''a%20b.jpg");
  });

  it('Upload-Limit max-append-size and min-append-size, from the creation, a HEAD or an append, bound each append at that URL', async () => {
    let limit = 'max-append-size=1000';
    const { t } = transport((c): Answer => {
      const headers: Record<string, string> = c.method === 'POST' ? { Location: '/files/new' } : { 'Upload-Offset': '0', 'Upload-Complete': '?0' };
      return { status: c.method === 'POST' ? 201 : 204, headers: { ...headers, ...(limit === '' ? {} : { 'Upload-Limit': limit }) } };
    });
    expect(t.appendLimits(upload(1_000_000))).toBeUndefined(); // no URL yet
    const created = await t.status(upload(1_000_000), ctx());
    const at = upload(1_000_000, created.kind === 'offset' ? { ...created.remote } : {});
    expect(t.appendLimits(at)).toEqual({ max: 1000 });
    limit = 'max-append-size=500, min-append-size=100, max-size=10000000';
    await t.status(at, ctx());
    expect(t.appendLimits(at)).toEqual({ max: 500, min: 100 });
    limit = 'min-append-size=200';
    await t.append(at, { start: 0, body: new Blob([new Uint8Array(200)]) }, ctx());
    expect(t.appendLimits(at)).toEqual({ min: 200 }); // a new Upload-Limit replaces the old one
    limit = '';
    await t.status(at, ctx());
    expect(t.appendLimits(at)).toEqual({ min: 200 }); // an answer without one changes nothing
    expect(t.appendLimits(upload(1_000_000, { url: URL_X }))).toBeUndefined(); // another upload
  });

  it('an append refused (413 or 400) for bounds its Upload-Limit now announces: a conflict to re-sync from, the new bounds kept; other refusals fail', async () => {
    let answer: Answer = { status: 413, headers: { 'Upload-Limit': 'max-append-size=1000' }, text: 'too big' };
    const { t } = transport(() => answer);
    const at = upload(1_000_000, { url: URL_X });
    expect(await t.append(at, { start: 0, body: body(2000) }, ctx())).toEqual({ kind: 'conflict', offset: undefined, complete: false });
    expect(t.appendLimits(at)).toEqual({ max: 1000 });
    answer = { status: 400, headers: { 'Upload-Limit': 'min-append-size=5000' }, text: 'too small' };
    expect(await t.append(at, { start: 0, body: body(1000) }, ctx())).toEqual({ kind: 'conflict', offset: undefined, complete: false });
    answer = { status: 400, text: 'no' }; // no bounds broken: refused for good
    expect(await t.append(at, { start: 0, body: body(6000) }, ctx())).toMatchObject({ kind: 'failed', error: { code: 'REJECTED' } });
  });

  it('the same append refused twice for bounds (the server’s answers disagree): REJECTED, no third try; a max-size below the file: REJECTED at once', async () => {
    let answer: Answer = { status: 413, headers: { 'Upload-Limit': 'max-append-size=1000' }, text: 'too big' };
    const { t, f } = transport(() => answer);
    const at = upload(1_000_000, { url: URL_X });
    expect(await t.append(at, { start: 0, body: body(2000) }, ctx())).toMatchObject({ kind: 'conflict' });
    expect(await t.append(at, { start: 0, body: body(2000) }, ctx())).toMatchObject({ kind: 'failed', error: { code: 'REJECTED' } });
    expect(f.calls).toHaveLength(2);
    answer = { status: 413, headers: { 'Upload-Limit': 'max-size=100, max-append-size=1000' }, text: 'too big' };
    expect(await t.append(at, { start: 0, body: body(3000) }, ctx())).toMatchObject({ kind: 'failed', error: { code: 'REJECTED', message: expect.stringContaining('up to 100 bytes') } });
  });

  it('a small file’s whole creation refused for max-append-size by a server that made the upload anyway: appended there, no second creation', async () => {
    const { t, f } = transport((): Answer => ({ status: 413, headers: { Location: '/files/made', 'Upload-Offset': '0', 'Upload-Limit': 'max-append-size=1000' }, text: 'too big' }));
    const out = await t.append(upload(3000), { start: 0, body: body(3000) }, ctx());
    expect(out).toEqual({ kind: 'offset', offset: 0, complete: false, remote: { url: 'https://up.example/files/made', fresh: '1' } });
    expect(f.calls).toHaveLength(1);
    expect(t.appendLimits(upload(3000, { url: 'https://up.example/files/made' }))).toEqual({ max: 1000 });
  });

  it('a small file sent whole with its creation, refused for max-append-size: created empty instead, to be appended within the bound', async () => {
    const { t, f } = transport((c): Answer =>
      c.bodyBytes > 0
        ? { status: 413, headers: { 'Upload-Limit': 'max-size=10000000, max-append-size=1000' }, text: 'one append may carry at most 1000 bytes' }
        : { status: 201, headers: { Location: '/files/new', 'Upload-Limit': 'max-size=10000000, max-append-size=1000' } },
    );
    const out = await t.append(upload(3000), { start: 0, body: body(3000) }, ctx());
    expect(out).toEqual({ kind: 'offset', offset: 0, complete: false, remote: { url: 'https://up.example/files/new', fresh: '1' } });
    expect(f.calls.map((c) => [c.method, c.bodyBytes, c.headers['upload-complete']])).toEqual([
      ['POST', 3000, '?1'],
      ['POST', 0, '?0'],
    ]);
    expect(t.appendLimits(upload(3000, { url: 'https://up.example/files/new' }))).toEqual({ max: 1000 });
  });

  it('an Upload-Limit max-size below the file: REJECTED', async () => {
    const { t } = transport(() => ({ status: 201, headers: { Location: '/files/new', 'Upload-Limit': 'max-size=100' } }));
    const out = await t.status(upload(1_000_000), ctx());
    expect(out.kind === 'failed' && out.error.message).toContain('up to 100 bytes');
  });

  it('a small file goes whole with its creation (?1, Content-Digest); the final answer completes it', async () => {
    const { t, f } = transport((c) => (c.method === 'POST' ? { status: 200, headers: { 'Upload-Complete': '?1' } } : undefined));
    expect(await t.status(upload(10), ctx())).toEqual({ kind: 'offset', offset: 0, complete: false });
    expect(f.calls).toHaveLength(0);
    expect(await t.append(upload(10), { start: 0, body: body(10), sha256: 'c2hh' }, ctx())).toEqual({ kind: 'offset', offset: 10, complete: true });
    expect(f.calls[0]!.headers).toMatchObject({ 'upload-complete': '?1', 'content-digest': 'sha-256=:c2hh:' });
    expect(f.calls[0]!.bodyBytes).toBe(10);
  });

  it('HEAD: Upload-Offset and Upload-Complete (Structured Fields)', async () => {
    const { t } = transport(() => ({ status: 204, headers: { 'Upload-Offset': '40', 'Upload-Complete': '?0', 'Upload-Length': '100', 'Upload-Limit': 'max-size=1000' } }));
    expect(await t.status(upload(100, { url: URL_X }), ctx())).toEqual({ kind: 'offset', offset: 40, complete: false });
    const done = transport(() => ({ status: 204, headers: { 'Upload-Offset': '100', 'Upload-Complete': '?1' } }));
    expect(await done.t.status(upload(100, { url: URL_X, fresh: '1' }), ctx())).toEqual({ kind: 'offset', offset: 100, complete: true, remote: { url: URL_X } });
  });

  it('PATCH: application/partial-upload with Upload-Offset, ?1 on the last chunk only; an answer without Upload-Offset acknowledges the whole body', async () => {
    const { t, f } = transport((c) => (c.method === 'PATCH' ? { status: 204, headers: { 'Upload-Complete': c.headers['upload-complete']! === '?1' ? '?1' : '?0' } } : undefined));
    expect(await t.append(upload(100, { url: URL_X }), { start: 0, body: body(60) }, ctx())).toEqual({ kind: 'offset', offset: 60, complete: false });
    expect(await t.append(upload(100, { url: URL_X }), { start: 60, body: body(40) }, ctx())).toEqual({ kind: 'offset', offset: 100, complete: true });
    expect(f.calls.map((c) => [c.headers['content-type'], c.headers['upload-offset'], c.headers['upload-complete']])).toEqual([
      ['application/partial-upload', '0', '?0'],
      ['application/partial-upload', '60', '?1'],
    ]);
  });

  it('409 is a re-sync at the offset it names', async () => {
    const { t } = transport(() => ({ status: 409, headers: { 'Upload-Offset': '12', 'Upload-Complete': '?0', 'Content-Type': 'application/problem+json' }, text: '{}' }));
    expect(await t.append(upload(100, { url: URL_X }), { start: 30, body: body(10) }, ctx())).toEqual({ kind: 'conflict', offset: 12, complete: false });
  });

  it.each([
    [{ status: 412, text: 'this server speaks interop version 6' }, 'REJECTED', 'does not speak interop version 8'],
    [{ status: 400, headers: { 'X-Error-Code': 'DIGEST_MISMATCH' }, text: 'no match' }, 'CORRUPTED', 'no match'],
    [{ status: 500, headers: { 'Upload-Complete': '?1' }, text: 'could not process' }, 'REJECTED', 'received the whole file but refused it'],
    [{ status: 503, text: 'busy' }, 'SERVER', 'busy'],
  ])('%j → %s', async (answer, code, message) => {
    const { t } = transport(() => answer as Answer);
    const out = await t.append(upload(100, { url: URL_X }), { start: 0, body: body(100) }, ctx());
    expect(out.kind === 'failed' && out.error.code).toBe(code);
    expect(out.kind === 'failed' && out.error.message).toContain(message);
  });

  it('404 for a confirmed URL: a new upload from zero; for one never confirmed: REJECTED', async () => {
    const { t } = transport((c) => (c.method === 'HEAD' ? { status: 404 } : { status: 201, headers: { Location: '/files/again' } }));
    expect(await t.status(upload(1_000_000, { url: URL_X }), ctx())).toEqual({ kind: 'offset', offset: 0, complete: false, remote: { url: 'https://up.example/files/again', fresh: '1' } });
    const lost = await t.status(upload(1_000_000, { url: URL_X, fresh: '1' }), ctx());
    expect(lost.kind === 'failed' && lost.error.code).toBe('REJECTED');
  });
});
