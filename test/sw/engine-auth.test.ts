// Credentials that stay fresh (defect 2): a headers hook before every request, setHeaders from
// the page, and 401/403 that wait for new credentials instead of failing or storming.
import { describe, expect, it } from 'vitest';
import { UploadError } from '../../src/protocol/index.js';
import { FetchHttpClient } from '../../sw/transport/http-client.js';
import { StatusSliceTransport } from '../../sw/transport/status-slice.js';
import { settle } from './kit/fake-clock.js';
import { at } from './kit/scripted-transport.js';
import { engineKit } from './kit/engine-kit.js';

const unauthorized = () => ({ kind: 'failed' as const, error: new UploadError('UNAUTHORIZED', 'HTTP 401: token expired', { status: 401, serverCode: 'UNAUTHORIZED' }) });

describe('credentials', () => {
  it('the headers hook is called before every request, so each one carries the token of its moment', async () => {
    let token = 0;
    const seenBy: string[] = [];
    const kit = engineKit({
      headers: async (upload) => {
        seenBy.push(upload.name);
        token += 1;
        return { Authorization: `Bearer t${token}` };
      },
      chunk: { initialBytes: 64 * 1024, minBytes: 64 * 1024, maxBytes: 64 * 1024, maxBytesWithoutDigest: 64 * 1024, granularity: 64 * 1024 },
    });
    kit.transport.respondWith((call) => (call.kind === 'status' ? at(0) : at(call.chunk!.start + call.chunk!.body.size, call.chunk!.start + call.chunk!.body.size === 200_000)));
    const view = await kit.add(200_000, 'a.bin', { 'X-App': 'stored', Authorization: 'Bearer stale' });
    expect(kit.view(view.id).state).toBe('done');
    const auth = kit.transport.calls.map((c) => c.ctx.headers['Authorization']);
    expect(auth).toEqual(['Bearer t1', 'Bearer t2', 'Bearer t3', 'Bearer t4', 'Bearer t5']);
    // The hook's headers go over the stored ones; the others stay.
    expect(kit.transport.calls.every((c) => c.ctx.headers['X-App'] === 'stored')).toBe(true);
    expect(seenBy.every((n) => n === 'a.bin')).toBe(true);
  });

  it('401: waiting with UNAUTHORIZED, file kept, an unauthorized event, and no retries however long it waits', async () => {
    const kit = engineKit();
    kit.transport.respondWith(unauthorized);
    const view = await kit.add(10, 'a.bin', { Authorization: 'Bearer old' });
    const waiting = kit.view(view.id);
    expect(waiting).toMatchObject({ state: 'waiting', error: { code: 'UNAUTHORIZED', status: 401 } });
    expect(waiting.retryAt).toBeUndefined();
    expect(kit.events().some((e) => e.type === 'unauthorized' && e.upload.id === view.id)).toBe(true);
    await kit.engine.handle({ type: 'online' });
    await kit.clock.advance(24 * 60 * 60_000);
    expect(kit.transport.calls).toHaveLength(1);
    expect(await kit.store.file((await kit.store.list())[0]!)).toBeDefined();

    // The page refreshes the token: the upload starts again with it.
    kit.transport.respondWith((call) => (call.kind === 'status' ? at(0) : at(10, true)));
    const [updated] = await kit.engine.handle({ type: 'set-headers', uploadId: view.id, headers: { Authorization: 'Bearer new' } });
    expect(updated?.state).toBe('queued');
    await settle();
    expect(kit.view(view.id).state).toBe('done');
    expect(kit.transport.calls.slice(1).every((c) => c.ctx.headers['Authorization'] === 'Bearer new')).toBe(true);
  });

  it('403 waits too (FORBIDDEN); the user resuming it tries again', async () => {
    const kit = engineKit();
    kit.transport.respondWith(() => ({ kind: 'failed', error: new UploadError('FORBIDDEN', 'HTTP 403: not allowed', { status: 403 }) }));
    const view = await kit.add(10);
    expect(kit.view(view.id)).toMatchObject({ state: 'waiting', error: { code: 'FORBIDDEN' } });
    await kit.clock.advance(60 * 60_000);
    expect(kit.transport.calls).toHaveLength(1);
    kit.transport.respondWith((call) => (call.kind === 'status' ? at(0) : at(10, true)));
    await kit.engine.handle({ type: 'retry', uploadId: view.id });
    await settle();
    expect(kit.view(view.id).state).toBe('done');
  });

  it('setHeaders for all unfinished uploads; finished ones keep theirs', async () => {
    const kit = engineKit({ concurrency: 1 });
    kit.transport.respondWith((call) => (call.upload.fileId.startsWith('done') ? (call.kind === 'status' ? at(0) : at(3, true)) : unauthorized()));
    const done = await kit.add(3, 'done.bin', { Authorization: 'a' });
    const held = await kit.add(4, 'held.bin', { Authorization: 'a' });
    expect(kit.view(done.id).state).toBe('done');
    expect(kit.view(held.id).state).toBe('waiting');
    kit.transport.respondWith((call) => (call.kind === 'status' ? at(0) : at(4, true)));
    const views = await kit.engine.handle({ type: 'set-headers', headers: { Authorization: 'b' } });
    expect(views.map((v) => v.id)).toEqual([held.id]);
    await settle();
    expect(kit.view(held.id).state).toBe('done');
    expect(kit.transport.calls.at(-1)?.ctx.headers['Authorization']).toBe('b');
  });

  it('a worker with its own token source resumes held uploads with credentialsChanged()', async () => {
    let token = 'expired';
    const kit = engineKit({ headers: () => ({ Authorization: token }) });
    kit.transport.respondWith((call) => (call.ctx.headers['Authorization'] === 'expired' ? unauthorized() : call.kind === 'status' ? at(0) : at(10, true)));
    const view = await kit.add(10);
    expect(kit.view(view.id).state).toBe('waiting');
    token = 'fresh';
    expect(kit.engine.credentialsChanged().map((v) => v.id)).toEqual([view.id]);
    await settle();
    expect(kit.view(view.id).state).toBe('done');
  });

  it('a headers hook that rejects with UNAUTHORIZED holds the upload without sending anything', async () => {
    const kit = engineKit({ headers: () => Promise.reject(new UploadError('UNAUTHORIZED', 'Signed out')) });
    const view = await kit.add(10);
    expect(kit.view(view.id)).toMatchObject({ state: 'waiting', error: { code: 'UNAUTHORIZED', message: 'Signed out' } });
    expect(kit.transport.calls).toHaveLength(0);
  });

  it('setHeaders refuses header names and values fetch would not send', async () => {
    const kit = engineKit();
    await expect(kit.engine.handle({ type: 'set-headers', headers: { 'Bad Name': 'x' } })).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
    await expect(kit.engine.handle({ type: 'set-headers', headers: { A: 'x\r\nInjected: 1' } })).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
    // fetch and XHR take bytes: U+00E9 is one, U+20AC (€) is not.
    await expect(kit.engine.handle({ type: 'set-headers', headers: { A: 'café' } })).resolves.toBeDefined();
    await expect(kit.engine.handle({ type: 'set-headers', headers: { A: '5 €' } })).rejects.toMatchObject({ code: 'INVALID_ARGUMENT', message: expect.stringContaining('beyond U+00FF') });
  });

  it('a headers hook may leave a header out with undefined', async () => {
    const kit = engineKit({ headers: () => ({ Authorization: undefined, 'X-Tenant': 't1' }) as unknown as Record<string, string> });
    await kit.add(10);
    const first = await kit.transport.next();
    expect(first.ctx.headers).toEqual({ 'X-Tenant': 't1' });
  });

  it('a headers hook that returns a value fetch would refuse: the upload fails with that reason, nothing sent', async () => {
    const kit = engineKit({ headers: () => ({ 'X-Name': 'Zoë & Łukasz' }) });
    const view = await kit.add(10);
    expect(kit.view(view.id)).toMatchObject({ state: 'failed', error: { code: 'INVALID_ARGUMENT', message: expect.stringContaining('Header X-Name holds a character beyond U+00FF') } });
    expect(kit.transport.calls).toHaveLength(0);
  });
});

describe('fetch credentials', () => {
  it.each([['same-origin'], ['include']] as const)('StatusSliceTransport sends credentials: %s', async (credentials) => {
    const seen: RequestInit[] = [];
    const transport = new StatusSliceTransport(
      new FetchHttpClient(async (_url, init) => {
        seen.push(init!);
        return new Response('0', { status: 200, headers: { 'X-Upload-Offset': '0' } });
      }, credentials),
    );
    const upload = { id: 'u', fileId: 'f', endpoint: 'https://api.example', name: 'a', type: '', size: 1 };
    await transport.status(upload, { signal: new AbortController().signal, headers: { Authorization: 'x' } });
    await transport.append(upload, { start: 0, body: new Blob(['a']) }, { signal: new AbortController().signal, headers: {} });
    expect(seen.map((i) => i.credentials)).toEqual([credentials, credentials]);
    expect((seen[0]!.headers as Record<string, string>)['Authorization']).toBe('x');
  });
});
