// The protocol handler on request values, without sockets, over the memory store.
import { describe, expect, it } from 'vitest';
import { MemoryStore, createUploadCore, type UploadRequest } from '../../server/index.js';

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

  it('routes 404, 405 and OPTIONS', async () => {
    const core = createUploadCore({ storage: new MemoryStore(), sweepIntervalMs: 0 });
    expect((await core.handle(request('GET', '/x', {}))).status).toBe(404);
    expect((await core.handle(request('PATCH', '/upload', {}))).status).toBe(405);
    expect((await core.handle(request('OPTIONS', '/upload', {}))).status).toBe(204);
    core.close();
  });
});
