// Protocol conformance against the real server on a loopback port.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readFile } from 'node:fs/promises';
import { storageKey } from '../../server/index.js';
import { startTestServer, type TestServer } from '../helpers/server.js';
import { call, cutPost, digestOf, post, randomData, sha256, status, waitFor } from './client.js';

let srv: TestServer;
beforeAll(async () => {
  srv = await startTestServer();
});
afterAll(async () => {
  await srv.close();
});

const completedFile = (id: string): Promise<Buffer> =>
  readFile(`${srv.uploadDir}/complete/${storageKey({ namespace: '', id })}`);

describe('classic client flow', () => {
  it('status 0, one POST of the whole slice, then status = size and complete', async () => {
    const data = randomData(300_000);
    const id = `photo.jpg-${data.length}-1700000000000`;
    const s0 = await status(srv.url, id);
    expect(s0).toMatchObject({ status: 200, body: '0', offset: 0, complete: false });
    const start = +s0.body;
    const r = await post(srv.url, id, start, data.subarray(start));
    expect(r).toMatchObject({ status: 200, body: String(data.length), complete: true });
    const s1 = await status(srv.url, id);
    expect(s1).toMatchObject({ status: 200, body: String(data.length), complete: true });
    expect(s1.headers.get('x-file-size')).toBe(String(data.length));
    expect(sha256(await completedFile(id))).toBe(sha256(data));
  });

  it('resumes a classic upload after a cut: status then the rest of the slice', async () => {
    const data = randomData(200_000);
    const id = 'classic-cut';
    await cutPost(srv.url, { 'X-File-Id': id, 'X-Start-Byte': '0' }, data, 77_777);
    // Status reports only what is fsynced: wait for the cut request's writer to finish.
    await waitFor(async () => +(await status(srv.url, id)).body > 0);
    const s = await status(srv.url, id);
    expect(s.complete).toBe(false);
    const start = +s.body;
    expect(start).toBeGreaterThan(0);
    expect(start).toBeLessThanOrEqual(77_777);
    const r = await post(srv.url, id, start, data.subarray(start));
    expect(r).toMatchObject({ status: 200, complete: true, offset: data.length });
    expect(sha256(await completedFile(id))).toBe(sha256(data));
  });
});

describe('chunked uploads with X-File-Size', () => {
  it('completes exactly when the held size reaches X-File-Size', async () => {
    const data = randomData(250_000);
    const id = 'chunked-1';
    const size = { 'X-File-Size': String(data.length) };
    let r = await post(srv.url, id, 0, data.subarray(0, 100_000), size);
    expect(r).toMatchObject({ status: 200, body: '100000', complete: false });
    expect(r.headers.get('x-file-size')).toBe('250000');
    // The size need not be repeated.
    r = await post(srv.url, id, 100_000, data.subarray(100_000, 200_000));
    expect(r).toMatchObject({ status: 200, body: '200000', complete: false });
    r = await post(srv.url, id, 200_000, data.subarray(200_000), size);
    expect(r).toMatchObject({ status: 200, body: '250000', complete: true });
    expect(sha256(await completedFile(id))).toBe(sha256(data));
  });

  it('answers a repeated final empty POST with 200 complete, anything else with 409', async () => {
    const data = randomData(1000);
    const id = 'chunked-done';
    await post(srv.url, id, 0, data, { 'X-File-Size': '1000' });
    expect(await post(srv.url, id, 1000, new Uint8Array(0))).toMatchObject({ status: 200, body: '1000', complete: true });
    expect(await post(srv.url, id, 0, data)).toMatchObject({ status: 409, body: '1000', complete: true, code: 'ALREADY_COMPLETE' });
    expect(await post(srv.url, id, 1000, data)).toMatchObject({ status: 409, body: '1000', code: 'ALREADY_COMPLETE' });
    expect(await post(srv.url, id, 1000, new Uint8Array(0), { 'X-File-Size': '999' })).toMatchObject({ status: 409, code: 'SIZE_MISMATCH' });
  });

  it('survives cuts at random byte positions and ends byte-identical', async () => {
    const data = randomData(3 * 1024 * 1024);
    const id = 'random-cuts';
    const headers = { 'X-File-Id': id, 'X-File-Size': String(data.length) };
    let seen = 0;
    // The furthest byte any request delivered: a cut request may still be flushing when the
    // next status is read (status reports only fsynced bytes), so it can land after it.
    let sent = 0;
    for (let i = 0; i < 6; i++) {
      const start = +(await status(srv.url, id)).body;
      // Never goes backwards, never claims more than was sent.
      expect(start).toBeGreaterThanOrEqual(seen);
      expect(start).toBeLessThanOrEqual(sent);
      seen = start;
      const rest = data.subarray(start);
      const cutAt = 1 + Math.floor(Math.random() * (rest.length - 1));
      await cutPost(srv.url, { ...headers, 'X-Start-Byte': String(start) }, rest, cutAt);
      sent = Math.max(sent, start + cutAt);
      const after = +(await status(srv.url, id)).body;
      expect(after).toBeLessThanOrEqual(sent);
    }
    let start = +(await status(srv.url, id)).body;
    let r = await post(srv.url, id, start, data.subarray(start), { 'X-File-Size': String(data.length) });
    if (r.status === 409) {
      // The last cut request finished flushing after our status: re-sync from the 409, as a client does.
      expect(+r.body).toBeGreaterThan(start);
      start = +r.body;
      r = await post(srv.url, id, start, data.subarray(start), { 'X-File-Size': String(data.length) });
    }
    expect(r).toMatchObject({ status: 200, complete: true, offset: data.length });
    expect(sha256(await completedFile(id))).toBe(sha256(data));
  });
});

describe('409 re-sync', () => {
  it('gives the held offset as body so the client re-syncs in one round trip', async () => {
    const id = 'resync';
    await post(srv.url, id, 0, randomData(500), { 'X-File-Size': '2000' });
    const r = await post(srv.url, id, 200, randomData(100));
    expect(r).toMatchObject({ status: 409, body: '500', offset: 500, code: 'OFFSET_MISMATCH', complete: false });
    expect(r.headers.get('x-file-size')).toBe('2000');
    expect((await status(srv.url, id)).body).toBe('500');
  });

  it('answers 409 with body 0 for start > 0 on an unknown id, creating nothing', async () => {
    const r = await post(srv.url, 'never-seen', 10, randomData(10));
    expect(r).toMatchObject({ status: 409, body: '0', code: 'OFFSET_MISMATCH' });
    expect((await status(srv.url, 'never-seen')).body).toBe('0');
  });

  it('answers 409 SIZE_MISMATCH when X-File-Size changes', async () => {
    const id = 'size-change';
    await post(srv.url, id, 0, randomData(10), { 'X-File-Size': '100' });
    const r = await post(srv.url, id, 10, randomData(10), { 'X-File-Size': '101' });
    expect(r).toMatchObject({ status: 409, body: '10', code: 'SIZE_MISMATCH' });
    expect((await status(srv.url, id)).body).toBe('10');
  });
});

describe('Content-Digest', () => {
  it('appends a matching body and refuses a mismatching one with the offset unchanged', async () => {
    const id = 'digest';
    const a = randomData(50_000);
    const b = randomData(50_000);
    const size = { 'X-File-Size': '100000' };
    expect(await post(srv.url, id, 0, a, { ...size, 'Content-Digest': digestOf(a) })).toMatchObject({ status: 200, body: '50000' });
    const bad = await post(srv.url, id, 50_000, b, { 'Content-Digest': digestOf(a) });
    expect(bad).toMatchObject({ status: 400, offset: 50000, code: 'DIGEST_MISMATCH' });
    expect((await status(srv.url, id)).body).toBe('50000');
    expect(await post(srv.url, id, 50_000, b, { 'Content-Digest': digestOf(b) })).toMatchObject({ status: 200, complete: true });
    expect(sha256(await completedFile(id))).toBe(sha256(Buffer.concat([a, b])));
  });

  it('keeps nothing of a digest-checked body that is cut', async () => {
    const id = 'digest-cut';
    const a = randomData(400_000);
    await post(srv.url, id, 0, a.subarray(0, 100_000), { 'X-File-Size': String(a.length) });
    const rest = a.subarray(100_000);
    await cutPost(srv.url, { 'X-File-Id': id, 'X-Start-Byte': '100000', 'Content-Digest': digestOf(rest) }, rest, 150_000);
    expect((await status(srv.url, id)).body).toBe('100000');
    expect(await post(srv.url, id, 100_000, rest, { 'Content-Digest': digestOf(rest) })).toMatchObject({ status: 200, complete: true });
    expect(sha256(await completedFile(id))).toBe(sha256(a));
  });
});

describe('DELETE', () => {
  it('cancels a partial upload, is idempotent, and refuses a completed one', async () => {
    const id = 'to-delete';
    await post(srv.url, id, 0, randomData(100), { 'X-File-Size': '1000' });
    const del = (): ReturnType<typeof call> => call(`${srv.url}/upload`, { method: 'DELETE', headers: { 'X-File-Id': id } });
    expect((await del()).status).toBe(204);
    expect((await status(srv.url, id)).body).toBe('0');
    expect((await del()).status).toBe(204);
    // A fresh upload can start again at 0.
    expect(await post(srv.url, id, 0, randomData(5))).toMatchObject({ status: 200, complete: true });
    expect(await del()).toMatchObject({ status: 409, code: 'ALREADY_COMPLETE', body: '5' });
  });
});
