// Whole-file integrity at completion (X-File-Digest): checked once, by the running digest of the
// bytes as they arrived, or by reading them back after a restart; a mismatch never completes.
import { afterEach, describe, expect, it } from 'vitest';
import { FILE_DIGEST_PIECE } from '../../src/protocol/wire.js';
import { PieceDigest } from '../../server/file-digests.js';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileDigest, makeBytes } from '../helpers/hash.js';
import { startTestServer, type TestServer } from '../helpers/server.js';
import { post, status } from './client.js';

const servers: TestServer[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => s.close()));
});
async function start(uploadDir?: string): Promise<TestServer> {
  const s = await startTestServer({ sweepIntervalMs: 0, ...(uploadDir === undefined ? {} : { uploadDir }) });
  servers.push(s);
  return s;
}

describe('the piece-list digest', () => {
  it.each([0, 1, FILE_DIGEST_PIECE - 1, FILE_DIGEST_PIECE, FILE_DIGEST_PIECE + 1, 2 * FILE_DIGEST_PIECE + 12_345])('%i bytes, fed in odd chunk sizes, matches the definition', (size) => {
    const data = makeBytes(size, size % 97);
    const running = new PieceDigest();
    for (let at = 0, step = 1; at < size; at += step, step = (step * 7 + 3) % 3_000_001 || 1) running.update(data.subarray(at, Math.min(size, at + step)));
    expect(`:${running.digest().toString('base64')}:`).toBe(fileDigest(data));
  });
});

describe('X-File-Digest on the request that completes an upload', () => {
  it('one POST with the right digest completes', async () => {
    const srv = await start();
    const data = makeBytes(3_000_000, 1);
    const res = await post(srv.url, 'one', 0, data, { 'X-File-Size': String(data.length), 'X-File-Digest': fileDigest(data) });
    expect(res).toMatchObject({ status: 200, complete: true, offset: data.length });
  });

  it('chunks, the digest on the last: checked by the running digest; a wrong one never completes and the bytes are dropped', async () => {
    const srv = await start();
    const data = makeBytes(FILE_DIGEST_PIECE + 500_000, 2);
    const cut = 5_000_000;
    const headers = { 'X-File-Size': String(data.length) };
    expect((await post(srv.url, 'good', 0, data.subarray(0, cut), headers)).offset).toBe(cut);
    expect(await post(srv.url, 'good', cut, data.subarray(cut), { ...headers, 'X-File-Digest': fileDigest(data) })).toMatchObject({ status: 200, complete: true });

    expect((await post(srv.url, 'bad', 0, data.subarray(0, cut), headers)).offset).toBe(cut);
    const wrong = fileDigest(makeBytes(data.length, 3));
    const refused = await post(srv.url, 'bad', cut, data.subarray(cut), { ...headers, 'X-File-Digest': wrong });
    expect(refused).toMatchObject({ status: 422, code: 'FILE_DIGEST_MISMATCH', offset: 0, complete: false });
    expect(refused.body).toMatch(/send the file again/);
    expect(await status(srv.url, 'bad')).toMatchObject({ body: '0', complete: false });
  });

  it('after a restart mid-upload, the stored bytes are read back to check the digest', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'ru-digest-'));
    const first = await start(dir);
    const data = makeBytes(2_500_000, 4);
    const headers = { 'X-File-Size': String(data.length) };
    await post(first.url, 'restarted', 0, data.subarray(0, 1_000_000), headers);
    await servers.shift()!.close();
    const second = await start(dir);
    const res = await post(second.url, 'restarted', 1_000_000, data.subarray(1_000_000), { ...headers, 'X-File-Digest': fileDigest(data) });
    expect(res).toMatchObject({ status: 200, complete: true });
    await rm(dir, { recursive: true, force: true });
  });

  it('a malformed digest is refused before anything is read', async () => {
    const srv = await start();
    const res = await post(srv.url, 'malformed', 0, makeBytes(10, 5), { 'X-File-Digest': 'sha-256=:abc:' });
    expect(res).toMatchObject({ status: 400, code: 'BAD_DIGEST' });
    expect(await status(srv.url, 'malformed')).toMatchObject({ body: '0' });
  });
});
