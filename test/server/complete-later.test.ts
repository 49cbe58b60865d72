// X-Upload-Complete: ?0 on POST /upload: the bytes are kept and acknowledged, the upload stays open
// even when whole; a later body-less POST at its size completes it, checking X-File-Digest (a client
// that sends the file from byte 0 before its digest is computed). It survives a restart in between.
import { afterEach, describe, expect, it } from 'vitest';
import { mkdtemp, readFile, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { storageKey, type CompletedUpload, type StartServerOptions } from '../../server/index.js';
import { fileDigest } from '../helpers/hash.js';
import { closedOnce, startTestServer, type TestServer } from '../helpers/server.js';
import { digestOf, post, randomData, sha256, status } from './client.js';

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function uploadDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'ru-complete-later-'));
  cleanups.push(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

/** A server on `dir`; close() it to restart on the same directory. */
async function start(dir: string, options: StartServerOptions = {}): Promise<TestServer> {
  return closedOnce(await startTestServer({ uploadDir: dir, sweepIntervalMs: 0, ...options }), cleanups);
}

const LATER = { 'X-Upload-Complete': '?0' };
const completed = (dir: string, id: string): string => join(dir, 'complete', storageKey({ namespace: '', id }));

describe('X-Upload-Complete: ?0', () => {
  it('a whole upload stays open; the empty POST at its size with the right X-File-Digest completes it', async () => {
    const dir = await uploadDir();
    const calls: CompletedUpload[] = [];
    const srv = await start(dir, { onComplete: (info) => void calls.push(info) });
    const data = randomData(300_000);
    const size = { 'X-File-Size': String(data.length) };
    const whole = await post(srv.url, 'later', 0, data, { ...size, ...LATER });
    expect(whole).toMatchObject({ status: 200, body: String(data.length), offset: data.length, complete: false });
    expect(whole.headers.get('x-upload-complete')).toBe('?0');
    const st = await status(srv.url, 'later');
    expect(st).toMatchObject({ status: 200, body: String(data.length), complete: false });
    expect(st.headers.get('x-file-size')).toBe(String(data.length));
    expect(await readdir(join(dir, 'complete'))).toEqual([]);

    const done = await post(srv.url, 'later', data.length, new Uint8Array(0), { ...size, 'X-File-Digest': fileDigest(data) });
    expect(done).toMatchObject({ status: 200, body: String(data.length), complete: true });
    expect(sha256(await readFile(completed(dir, 'later')))).toBe(sha256(data));
    await srv.close();
    expect(calls.map((c) => c.metadata)).toMatchObject([{ id: 'later', size: data.length }]);
  });

  it('the completing POST with a wrong X-File-Digest: FILE_DIGEST_MISMATCH, the bytes dropped', async () => {
    const srv = await start(await uploadDir());
    const data = randomData(100_000);
    expect(await post(srv.url, 'wrong', 0, data, { 'X-File-Size': String(data.length), ...LATER })).toMatchObject({ status: 200, complete: false });
    const refused = await post(srv.url, 'wrong', data.length, new Uint8Array(0), { 'X-File-Digest': fileDigest(randomData(100_000)) });
    expect(refused).toMatchObject({ status: 422, code: 'FILE_DIGEST_MISMATCH', offset: 0 });
    expect(await status(srv.url, 'wrong')).toMatchObject({ body: '0', complete: false });
  });

  it('survives a restart, the last slice carrying a Content-Digest included, and is completed after it', async () => {
    const dir = await uploadDir();
    let srv = await start(dir);
    const data = randomData(500_000);
    const size = { 'X-File-Size': String(data.length) };
    expect(await post(srv.url, 'restart', 0, data.subarray(0, 200_000), { ...size, ...LATER })).toMatchObject({ status: 200, body: '200000' });
    // Whole with this one; its digest-checked bytes are acknowledged, so nothing may roll them back.
    const last = data.subarray(200_000);
    expect(await post(srv.url, 'restart', 200_000, last, { ...LATER, 'Content-Digest': digestOf(last) })).toMatchObject({ status: 200, complete: false, body: String(data.length) });
    await srv.close();

    srv = await start(dir);
    expect(await status(srv.url, 'restart')).toMatchObject({ body: String(data.length), complete: false });
    const done = await post(srv.url, 'restart', data.length, new Uint8Array(0), { 'X-File-Digest': fileDigest(data) });
    expect(done).toMatchObject({ status: 200, complete: true });
    expect(sha256(await readFile(completed(dir, 'restart')))).toBe(sha256(data));
  });

  it('without X-File-Size: the body that arrived whole leaves the upload open; a POST with ?1 completes it', async () => {
    const dir = await uploadDir();
    const srv = await start(dir);
    const data = randomData(1000);
    expect(await post(srv.url, 'sizeless', 0, data, LATER)).toMatchObject({ status: 200, body: '1000', complete: false });
    expect(await status(srv.url, 'sizeless')).toMatchObject({ body: '1000', complete: false });
    expect(await post(srv.url, 'sizeless', 1000, new Uint8Array(0), { 'X-Upload-Complete': '?1' })).toMatchObject({ status: 200, body: '1000', complete: true });
    expect(sha256(await readFile(completed(dir, 'sizeless')))).toBe(sha256(data));
  });

  it.each(['?2', 'true', '1', '?0;x=1', ''])('X-Upload-Complete: %j is refused with 400 before a byte is kept', async (value) => {
    const srv = await start(await uploadDir());
    const refused = await post(srv.url, 'bad', 0, randomData(10), { 'X-File-Size': '10', 'X-Upload-Complete': value });
    expect(refused).toMatchObject({ status: 400, code: 'BAD_REQUEST' });
    expect(refused.body).toMatch(/X-Upload-Complete/);
    expect(await status(srv.url, 'bad')).toMatchObject({ body: '0' });
  });

  it('?0 with X-File-Digest is refused: the digest is checked only by the POST that completes', async () => {
    const srv = await start(await uploadDir());
    const data = randomData(10);
    const refused = await post(srv.url, 'both', 0, data, { ...LATER, 'X-File-Digest': fileDigest(data) });
    expect(refused).toMatchObject({ status: 400, code: 'BAD_REQUEST' });
    expect(refused.body).toMatch(/X-File-Digest/);
    expect(await status(srv.url, 'both')).toMatchObject({ body: '0' });
  });
});
