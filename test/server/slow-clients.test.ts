// Slow and silent clients against the real server, with short deadlines configured: sockets that
// send nothing, drip their header or drip their body are ended, and say why; honest uploads,
// however long, are not. Every wait is on a state (a socket closed, an answer arrived).
import { afterEach, describe, expect, it } from 'vitest';
import { connect, type Socket } from 'node:net';
import { join } from 'node:path';
import { storageKey } from '../../server/index.js';
import { spawnListening, type Listening } from '../../lab/processes.js';
import { startTestServer, type TestServer } from '../helpers/server.js';
import { openPost, parseRaw, post, randomData, sha256, status, waitFor } from './client.js';
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';

const REPO = join(import.meta.dirname, '..', '..');
const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function start(options: Parameters<typeof startTestServer>[0]): Promise<TestServer> {
  const srv = await startTestServer(options);
  cleanups.push(() => srv.close());
  return srv;
}

interface Watched {
  readonly socket: Socket;
  received(): string;
  readonly closed: Promise<void>;
}

async function rawSocket(url: string): Promise<Watched> {
  const u = new URL(url);
  const socket = connect(Number(u.port), u.hostname);
  let received = '';
  socket.on('data', (d: Buffer) => (received += d.toString('latin1')));
  socket.on('error', () => undefined);
  const closed = new Promise<void>((r) => socket.once('close', () => r()));
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', resolve);
    socket.once('error', reject);
  });
  cleanups.push(() => void socket.destroy());
  return { socket, received: () => received, closed };
}

/** Resolves when `p` does, fails the test when that takes longer than `ms` (a bug, not slowness). */
async function within<T>(ms: number, what: string, p: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: still waiting after ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([p, deadline]);
  } finally {
    clearTimeout(timer);
  }
}

function drip(socket: Socket, text: string, everyMs: number): void {
  let i = 0;
  const timer = setInterval(() => {
    if (socket.destroyed || i >= text.length) return clearInterval(timer);
    socket.write(text[i++]!);
  }, everyMs);
  cleanups.push(() => clearInterval(timer));
}

describe('headers deadline', () => {
  it('ends sockets that send nothing or drip their header, with 408 TIMEOUT', async () => {
    const srv = await start({ headersTimeoutMs: 400 });
    const silent = await Promise.all(Array.from({ length: 20 }, () => rawSocket(srv.url)));
    const dripping = await Promise.all(Array.from({ length: 5 }, () => rawSocket(srv.url)));
    for (const d of dripping) drip(d.socket, `GET /status HTTP/1.1\r\nHost: x\r\nX-File-Id: ${'d'.repeat(500)}\r\n\r\n`, 50);
    await within(15_000, 'idle sockets closed', Promise.all([...silent, ...dripping].map((s) => s.closed)));
    for (const s of [...silent, ...dripping]) {
      const reply = parseRaw(s.received());
      expect(reply.status).toBe(408);
      expect(reply.headers['x-error-code']).toBe('TIMEOUT');
      expect(reply.body).toMatch(/header/);
    }
    expect((await status(srv.url, 'still-serving')).status).toBe(200);
  });

  it('keeps serving with few descriptors while hundreds of sockets sit silent (the CLI, ulimit -n 256)', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'ru-fd-'));
    cleanups.push(() => rm(dir, { recursive: true, force: true }));
    const cli: Listening = await spawnListening('bash', ['-c', `ulimit -n 256 && exec "${process.execPath}" --import tsx "${join(REPO, 'server', 'cli.ts')}"`], {
      PORT: '0',
      HOST: '127.0.0.1',
      UPLOAD_DIR: join(dir, 'uploads'),
      STATIC_DIR: join(dir, 'none'),
      HEADERS_TIMEOUT_MS: '500',
    });
    cleanups.push(() => cli.kill('SIGKILL'));
    // More idle sockets than the server has descriptors: it must shed them, not starve.
    const idle: Socket[] = [];
    for (let i = 0; i < 400; i++) {
      const s = connect(cli.port, '127.0.0.1');
      s.on('error', () => undefined);
      idle.push(s);
    }
    cleanups.push(() => idle.forEach((s) => s.destroy()));
    // Until the deadline frees descriptors, new requests may be refused; after it they are served.
    const probe = (): Promise<number> =>
      fetch(`${cli.url}/status`, { headers: { 'X-File-Id': 'real-client' }, signal: AbortSignal.timeout(3000) }).then(
        (r) => r.status,
        () => 0,
      );
    await waitFor(async () => (await probe()) === 200, 20_000);
    expect(await post(cli.url, 'real-upload', 0, randomData(1000))).toMatchObject({ status: 200, complete: true });
  });
});

describe('minimum body rate', () => {
  it('ends a body that drips one byte at a time, answering 408 TIMEOUT and keeping what arrived', async () => {
    const srv = await start({ minBytesPerSecond: 5000, rateWindowMs: 500, idleTimeoutMs: 10_000 });
    const open = await openPost(srv.url, { 'X-File-Id': 'drip', 'X-Start-Byte': '0' }, 100_000, randomData(1000));
    drip(open.socket, 'x'.repeat(1000), 100);
    await waitFor(async () => open.received().length > 0 || open.socket.destroyed, 15_000);
    const reply = parseRaw(open.received());
    expect(reply.status).toBe(408);
    expect(reply.headers['x-error-code']).toBe('TIMEOUT');
    expect(reply.body).toMatch(/bytes\/s/);
    const held = Number(reply.headers['x-upload-offset']);
    expect(held).toBeGreaterThanOrEqual(1000);
    expect((await status(srv.url, 'drip')).body).toBe(String(held));
  });

  it('never cuts an honest slow upload, nor a long fast one, whatever its length', async () => {
    const srv = await start({ minBytesPerSecond: 2000, rateWindowMs: 300, idleTimeoutMs: 10_000 });
    // ~40 KB/s for about 3 s: ten rate windows, each 20 times above the minimum.
    const slow = randomData(120_000);
    const open = await openPost(srv.url, { 'X-File-Id': 'honest-slow', 'X-Start-Byte': '0' }, slow.length, slow.subarray(0, 4000));
    let sent = 4000;
    await new Promise<void>((resolve) => {
      const timer = setInterval(() => {
        open.socket.write(slow.subarray(sent, sent + 4000));
        sent += 4000;
        if (sent >= slow.length) {
          clearInterval(timer);
          resolve();
        }
      }, 100);
      cleanups.push(() => clearInterval(timer));
    });
    await waitFor(async () => open.received().length > 0, 15_000);
    expect(parseRaw(open.received())).toMatchObject({ status: 200, body: String(slow.length) });
    const fast = randomData(48 * 1024 * 1024);
    expect(await post(srv.url, 'honest-fast', 0, fast)).toMatchObject({ status: 200, complete: true });
    const key = storageKey({ namespace: '', id: 'honest-fast' });
    expect(sha256(await readFile(join(srv.uploadDir, 'complete', key)))).toBe(sha256(fast));
    expect((await stat(join(srv.uploadDir, 'complete', storageKey({ namespace: '', id: 'honest-slow' })))).size).toBe(slow.length);
  });
});
