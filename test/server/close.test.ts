// Shutdown has a time limit, embedded or standalone: requests still in flight at closeTimeoutMs are
// cut (what they delivered is kept), so close() resolves even with a client dripping a byte a second.
import { afterEach, describe, expect, it } from 'vitest';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createUploadHandler, storageKey } from '../../server/index.js';
import { startTestServer } from '../helpers/server.js';
import { openPost, randomData, status, waitFor } from './client.js';

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

function resolvesWithin<T>(ms: number, p: Promise<T>): Promise<'resolved' | 'timed out'> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    p.then(() => 'resolved' as const),
    new Promise<'timed out'>((r) => {
      timer = setTimeout(() => r('timed out'), ms);
    }),
  ]).finally(() => clearTimeout(timer));
}

/** A POST that sent 10 bytes and then sends one more every second; resolves once its writer holds the upload. */
async function dripping(url: string, id: string, partial: string) {
  const open = await openPost(url, { 'X-File-Id': id, 'X-Start-Byte': '0' }, 1000, randomData(10));
  const timer = setInterval(() => open.socket.write('x'), 1000);
  cleanups.push(() => {
    clearInterval(timer);
    open.socket.destroy();
  });
  await waitFor(async () => (await stat(`${partial}.json`).catch(() => undefined)) !== undefined);
  return open;
}

describe('close() with a 1 byte/s body in flight', () => {
  it('the embedded handler resolves once closeTimeoutMs has passed, keeping the bytes', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'ru-close-'));
    cleanups.push(() => rm(dir, { recursive: true, force: true }));
    const uploadDir = join(dir, 'uploads');
    const handler = createUploadHandler({ uploadDir, closeTimeoutMs: 300, sweepIntervalMs: 0 });
    const http = createServer({ requestTimeout: 0 }, handler);
    await new Promise<void>((r) => http.listen(0, '127.0.0.1', r));
    cleanups.push(() => {
      http.closeAllConnections();
      http.close();
    });
    const url = `http://127.0.0.1:${(http.address() as AddressInfo).port}`;
    const open = await dripping(url, 'embedded', join(uploadDir, 'partial', storageKey({ namespace: '', id: 'embedded' })));
    expect(await resolvesWithin(15_000, handler.close())).toBe('resolved');
    // The cut request was answered (or its socket closed), and what it delivered is kept.
    await waitFor(async () => open.socket.destroyed || open.received().length > 0);
    const partial = join(uploadDir, 'partial', storageKey({ namespace: '', id: 'embedded' }));
    const onDisk = (await stat(partial)).size;
    const after = createUploadHandler({ uploadDir, sweepIntervalMs: 0 });
    const fresh = createServer(after);
    await new Promise<void>((r) => fresh.listen(0, '127.0.0.1', r));
    cleanups.push(() => new Promise<void>((r) => fresh.close(() => r())));
    const held = +(await status(`http://127.0.0.1:${(fresh.address() as AddressInfo).port}`, 'embedded')).body;
    expect(held).toBe(onDisk);
    await after.close();
  });

  it('startServer resolves with the same setting', async () => {
    const srv = await startTestServer({ closeTimeoutMs: 300 });
    cleanups.push(() => rm(srv.dir, { recursive: true, force: true }));
    await dripping(srv.url, 'standalone', join(srv.uploadDir, 'partial', storageKey({ namespace: '', id: 'standalone' })));
    expect(await resolvesWithin(15_000, srv.close())).toBe('resolved');
  });
});
