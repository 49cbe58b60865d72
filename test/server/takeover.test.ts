// Takeover points: a newer GET /status, POST or DELETE for an upload ends an older request that
// still holds it (a client that reconnected before the server noticed the cut), waits for it to let
// go, then answers from what it left. The classic client POSTs from the status it reads, so that
// status must count the bytes the stalled request delivered.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { storageKey } from '../../server/index.js';
import { startTestServer, type TestServer } from '../helpers/server.js';
import { call, openPost, post, randomData, sha256, status, waitFor } from './client.js';

let srv: TestServer;
beforeAll(async () => {
  srv = await startTestServer();
});
afterAll(async () => {
  await srv.close();
});

const partial = (id: string, suffix = ''): string => join(srv.uploadDir, 'partial', storageKey({ namespace: '', id }) + suffix);
const sizeOnDisk = async (id: string): Promise<number> => (await stat(partial(id)).catch(() => undefined))?.size ?? 0;

/**
 * A POST that sent `sent` bytes of `data` and then stalls, as if its network vanished. Waits until
 * its writer holds the upload (the metadata is written before the body is read); the server keeps
 * what it read of the body by the takeover, which the tests do not need to know in advance.
 */
async function stalledPost(id: string, data: Buffer, sent: number) {
  const old = await openPost(srv.url, { 'X-File-Id': id, 'X-Start-Byte': '0', 'X-File-Size': String(data.length) }, data.length, data.subarray(0, sent));
  await waitFor(async () => (await stat(partial(id, '.json')).catch(() => undefined)) !== undefined);
  return old;
}

describe('GET /status is a takeover point', () => {
  it('ends a stalled POST and answers the offset it left; the classic client then finishes from it', async () => {
    const id = 'classic-stalled';
    const data = randomData(400_000);
    const old = await stalledPost(id, data, 123_456);
    const s = await status(srv.url, id);
    // Answered after the stalled writer let go: what it kept, and nothing more will come.
    expect(s).toMatchObject({ status: 200, complete: false });
    const start = +s.body;
    expect(start).toBeLessThanOrEqual(123_456);
    expect(await sizeOnDisk(id)).toBe(start);
    await waitFor(async () => old.socket.destroyed || old.received().length > 0);
    expect(old.received()).toMatch(/^HTTP\/1\.1 409[\s\S]*X-Error-Code: BUSY/);
    // The classic client: POST the rest from the status it read, and it completes.
    expect(await post(srv.url, id, start, data.subarray(start))).toMatchObject({ status: 200, complete: true });
    expect(sha256(await readFile(join(srv.uploadDir, 'complete', storageKey({ namespace: '', id }))))).toBe(sha256(data));
  });

  it('HEAD /status takes over the same way', async () => {
    const id = 'head-stalled';
    const data = randomData(200_000);
    const old = await stalledPost(id, data, 50_000);
    const head = await call(`${srv.url}/status`, { method: 'HEAD', headers: { 'X-File-Id': id } });
    expect(head.status).toBe(200);
    expect(Number(head.headers.get('x-upload-offset'))).toBe(await sizeOnDisk(id));
    await waitFor(async () => old.socket.destroyed || old.received().length > 0);
  });
});

describe('DELETE is a takeover point', () => {
  it('ends a stalled POST, then removes the upload', async () => {
    const id = 'delete-stalled';
    const data = randomData(200_000);
    const old = await stalledPost(id, data, 70_000);
    expect((await call(`${srv.url}/upload`, { method: 'DELETE', headers: { 'X-File-Id': id } })).status).toBe(204);
    await waitFor(async () => old.socket.destroyed || old.received().length > 0);
    expect((await status(srv.url, id)).body).toBe('0');
  });
});
