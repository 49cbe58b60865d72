// The status/slice transport's answers, as tables: what each response means to the loop.
import { describe, expect, it } from 'vitest';
import { RECOVERY } from '../../src/protocol/index.js';
import { codeForStatus, parseRetryAfter, unreachable } from '../../sw/transport/http-errors.js';
import { FetchHttpClient } from '../../sw/transport/http-client.js';
import { StatusSliceTransport, classifyStatusSlice, type ResponseFacts } from '../../sw/transport/status-slice.js';
import { ScriptedFetch, ctx, type Answer } from './kit/scripted-fetch.js';

function res(status: number, headers: Record<string, string> = {}, text = ''): ResponseFacts {
  const lower = Object.fromEntries(Object.entries(headers).map(([k, v]) => [k.toLowerCase(), v]));
  return { status, text, header: (name) => lower[name.toLowerCase()] ?? null };
}

describe('classifyStatusSlice', () => {
  it.each([
    { name: '200 with X-Upload-Offset', method: 'GET', r: res(200, { 'X-Upload-Offset': '42', 'X-Upload-Complete': '?0' }, '42'), want: { kind: 'offset', offset: 42, complete: false } },
    { name: '200, the classic server: the offset as plain text only', method: 'GET', r: res(200, {}, '1234\n'), want: { kind: 'offset', offset: 1234, complete: false } },
    { name: '200 complete', method: 'POST', r: res(200, { 'X-Upload-Offset': '9', 'X-Upload-Complete': '?1' }), want: { kind: 'offset', offset: 9, complete: true } },
    { name: '204 to a DELETE', method: 'DELETE', r: res(204), want: { kind: 'offset', offset: 0, complete: false } },
    { name: '409 OFFSET_MISMATCH carries the offset', method: 'POST', r: res(409, { 'X-Error-Code': 'OFFSET_MISMATCH' }, '77'), want: { kind: 'conflict', offset: 77, complete: false } },
    { name: '409 BUSY is a re-sync too', method: 'POST', r: res(409, { 'X-Error-Code': 'BUSY', 'X-Upload-Offset': '5' }, '5'), want: { kind: 'conflict', offset: 5, complete: false } },
    { name: '409 without an offset', method: 'POST', r: res(409), want: { kind: 'conflict', offset: undefined, complete: false } },
  ])('$name', ({ method, r, want }) => {
    expect(classifyStatusSlice(method, r)).toEqual(want);
  });

  it.each([
    { status: 200, h: {}, text: 'sent no offset', code: 'SERVER' }, // a 2xx without an offset: a confused server
    { status: 409, h: { 'X-Error-Code': 'SIZE_MISMATCH' }, text: '3', code: 'REJECTED' },
    { status: 400, h: { 'X-Error-Code': 'DIGEST_MISMATCH' }, text: 'the body does not match', code: 'CORRUPTED' },
    { status: 400, h: { 'X-Error-Code': 'BAD_FILE_ID' }, text: 'X-File-Id is missing', code: 'REJECTED' },
    { status: 401, h: {}, text: 'authentication required', code: 'UNAUTHORIZED' },
    { status: 403, h: {}, text: 'not allowed', code: 'FORBIDDEN' },
    { status: 408, h: { 'X-Error-Code': 'TIMEOUT' }, text: 'idle', code: 'TIMEOUT' },
    { status: 413, h: { 'X-Error-Code': 'TOO_LARGE' }, text: 'too large', code: 'REJECTED' },
    { status: 429, h: { 'Retry-After': '7' }, text: 'slow down', code: 'THROTTLED' },
    { status: 500, h: {}, text: 'internal error', code: 'SERVER' },
    { status: 503, h: { 'Retry-After': '2' }, text: 'store unavailable', code: 'SERVER' },
    { status: 507, h: { 'X-Error-Code': 'DISK_FULL' }, text: 'full', code: 'SERVER' },
  ])('$status $h → failed $code, with the reason', ({ status, h, text, code }) => {
    const out = classifyStatusSlice('POST', res(status, h as Record<string, string>, text));
    expect(out.kind).toBe('failed');
    if (out.kind !== 'failed') return;
    expect(out.error.code).toBe(code);
    expect(out.error.status).toBe(status);
    expect(out.error.message).toContain(text.split('\n')[0]);
    const retryAfter = (h as Record<string, string>)['Retry-After'];
    expect(out.retryAfterMs).toBe(retryAfter === undefined ? undefined : Number(retryAfter) * 1000);
  });
});

describe('HTTP errors for every protocol', () => {
  it.each([
    [401, undefined, 'UNAUTHORIZED', 'needs-credentials'],
    [403, undefined, 'FORBIDDEN', 'needs-credentials'],
    [404, undefined, 'REJECTED', 'final'],
    [408, undefined, 'TIMEOUT', 'retry'],
    [410, undefined, 'REJECTED', 'final'],
    [429, undefined, 'THROTTLED', 'retry'],
    [460, undefined, 'CORRUPTED', 'retry-limited'],
    [423, undefined, 'SERVER', 'retry'],
    [400, 'DIGEST_MISMATCH', 'CORRUPTED', 'retry-limited'],
    [502, undefined, 'SERVER', 'retry'],
  ] as const)('%i (%s) is %s, recovery %s', (status, serverCode, code, recovery) => {
    expect(codeForStatus(status, serverCode)).toBe(code);
    expect(RECOVERY[code]).toBe(recovery);
  });

  it.each([
    ['120', 120_000],
    ['0', 0],
    [' 3 ', 3_000],
    ['-1', undefined],
    ['1.5', undefined],
    ['Wed, 21 Oct 2015 07:28:00 GMT', undefined],
    [null, undefined],
  ] as const)('Retry-After %s → %s ms', (value, ms) => {
    expect(parseRetryAfter(value)).toBe(ms);
  });

  it('an unreachable server is NETWORK, with the platform error as its cause', () => {
    const error = unreachable('GET /status', new TypeError('Load failed'));
    expect(error.code).toBe('NETWORK');
    expect(error.message).toBe('GET /status failed: the server could not be reached (TypeError: Load failed)');
    expect(error.toInfo().cause).toEqual({ name: 'TypeError', message: 'Load failed' });
  });
});

describe('status/slice GET /progress and X-Upload-Complete: ?0', () => {
  const upload = { id: 'u1', fileId: 'f1', endpoint: 'https://up.example/api', name: 'a.bin', type: '', size: 10 };

  it('learns per endpoint whether the server streams: an offset says yes, a 404 says no, no answer says nothing', async () => {
    let answer: Answer = 'refused';
    const f = new ScriptedFetch(() => answer);
    const t = new StatusSliceTransport(new FetchHttpClient(f.fetch));
    expect(t.streams(upload)).toBeUndefined();
    expect((await t.progress(upload, ctx())).kind).toBe('failed');
    expect(t.streams(upload)).toBeUndefined();
    answer = { status: 404, text: 'not found' };
    expect(await t.progress(upload, ctx())).toEqual({ kind: 'unsupported' });
    expect(t.streams(upload)).toBe(false);
    answer = { status: 200, headers: { 'X-Upload-Offset': '6', 'X-Upload-Complete': '?0' }, text: '6' };
    expect(await t.progress(upload, ctx())).toEqual({ kind: 'offset', offset: 6, complete: false });
    expect(t.streams(upload)).toBe(true);
    expect(t.streams({ ...upload, endpoint: 'https://other.example/api' })).toBeUndefined();
    expect(f.lines()).toEqual(['GET /api/progress', 'GET /api/progress', 'GET /api/progress']);
    expect(f.calls[0]?.headers).toMatchObject({ 'x-file-id': 'f1', authorization: 'Bearer t' });
  });

  it('probes that got no answer while the server answers other requests, twice: taken for a server without the path (a refused CORS preflight)', async () => {
    const f = new ScriptedFetch((call) => (call.url.endsWith('/progress') ? 'refused' : { status: 200, headers: { 'X-Upload-Offset': '0' }, text: '0' }));
    const t = new StatusSliceTransport(new FetchHttpClient(f.fetch));
    expect((await t.progress(upload, ctx())).kind).toBe('failed');
    expect(t.streams(upload)).toBeUndefined();
    expect((await t.status(upload, ctx())).kind).toBe('offset');
    expect(t.streams(upload)).toBeUndefined(); // once may be the network's
    expect((await t.progress(upload, ctx())).kind).toBe('failed');
    expect((await t.status(upload, ctx())).kind).toBe('offset');
    expect(t.streams(upload)).toBe(false);
  });

  it('a probe that once got no answer (a network blip) and then an answer: the server streams, and the blip is forgotten', async () => {
    let refuse = true;
    const f = new ScriptedFetch((call) => (call.url.endsWith('/progress') && refuse ? 'refused' : { status: 200, headers: { 'X-Upload-Offset': '0' }, text: '0' }));
    const t = new StatusSliceTransport(new FetchHttpClient(f.fetch));
    await t.progress(upload, ctx());
    await t.status(upload, ctx());
    refuse = false;
    expect((await t.progress(upload, ctx())).kind).toBe('offset');
    expect(t.streams(upload)).toBe(true);
  });

  it('unstreamed(): a server whose progress never moved while a body streamed gets chunks from then on', async () => {
    const f = new ScriptedFetch(() => ({ status: 200, headers: { 'X-Upload-Offset': '0' }, text: '0' }));
    const t = new StatusSliceTransport(new FetchHttpClient(f.fetch));
    await t.progress(upload, ctx());
    expect(t.streams(upload)).toBe(true);
    t.unstreamed(upload);
    expect(t.streams(upload)).toBe(false);
  });

  it('completeLater sends X-Upload-Complete: ?0, and only then', async () => {
    const f = new ScriptedFetch(() => ({ status: 200, headers: { 'X-Upload-Offset': '10', 'X-Upload-Complete': '?0' }, text: '10' }));
    const t = new StatusSliceTransport(new FetchHttpClient(f.fetch));
    await t.append(upload, { start: 0, body: new Blob([new Uint8Array(10)]), completeLater: true }, ctx());
    await t.append(upload, { start: 10, body: new Blob([]), fileDigest: 'AAAA' }, ctx());
    expect(f.calls[0]?.headers['x-upload-complete']).toBe('?0');
    expect(f.calls[1]?.headers['x-upload-complete']).toBeUndefined();
  });
});
