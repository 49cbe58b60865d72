// Small HTTP helpers for the server tests: fetch for whole requests, raw sockets for cut ones.
import { createHash, randomBytes } from 'node:crypto';
import { connect, type Socket } from 'node:net';
import { readdir } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { writeAll } from '../../server/file-append.js';
import type { CheckpointPolicy } from '../../server/file-checkpoints.js';
import { FileStore } from '../../server/file-store.js';
import { storageKey, type UploadRef } from '../../server/storage.js';

export interface Reply {
  status: number;
  body: string;
  headers: Headers;
  offset: number | undefined;
  complete: boolean;
  code: string | null;
}

export async function call(
  url: string,
  init: { method?: string; headers?: Record<string, string>; body?: Uint8Array | string | ReadableStream<Uint8Array> } = {},
): Promise<Reply> {
  const res = await fetch(url, {
    method: init.method ?? 'GET',
    headers: init.headers ?? {},
    // TS 5.9 types Uint8Array<ArrayBufferLike>, which lib.dom's BodyInit does not accept.
    ...(init.body === undefined ? {} : { body: init.body as BodyInit }),
    // A stream is sent chunked, without Content-Length.
    ...(init.body instanceof ReadableStream ? { duplex: 'half' } : {}),
  } as RequestInit);
  const body = await res.text();
  const off = res.headers.get('x-upload-offset');
  return {
    status: res.status,
    body,
    headers: res.headers,
    offset: off === null ? undefined : Number(off),
    complete: res.headers.get('x-upload-complete') === '?1',
    code: res.headers.get('x-error-code'),
  };
}

export function status(base: string, id: string, extra: Record<string, string> = {}): Promise<Reply> {
  return call(`${base}/status`, { headers: { 'X-File-Id': id, ...extra } });
}

export function post(base: string, id: string, start: number, body: Uint8Array, extra: Record<string, string> = {}): Promise<Reply> {
  return call(`${base}/upload`, { method: 'POST', headers: { 'X-File-Id': id, 'X-Start-Byte': String(start), ...extra }, body });
}

/** A POST whose body is streamed (chunked, no Content-Length) in these parts. */
export function postStream(base: string, id: string, start: number, parts: Uint8Array[], extra: Record<string, string> = {}): Promise<Reply> {
  const body = new ReadableStream<Uint8Array>({
    start(c) {
      for (const part of parts) c.enqueue(part);
      c.close();
    },
  });
  return call(`${base}/upload`, { method: 'POST', headers: { 'X-File-Id': id, 'X-Start-Byte': String(start), ...extra }, body });
}

export function digestOf(data: Uint8Array): string {
  return `sha-256=:${createHash('sha256').update(data).digest('base64')}:`;
}

export function sha256(data: Uint8Array): string {
  return createHash('sha256').update(data).digest('hex');
}

export function randomData(n: number): Buffer {
  return randomBytes(n);
}

/** Connects a raw socket and writes the head of a POST to `<base>/upload` promising `length` body bytes. */
async function postHead(base: string, headers: Record<string, string>, length: number): Promise<Socket> {
  const url = new URL(base);
  const socket = connect(Number(url.port), url.hostname);
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', resolve);
    socket.once('error', reject);
  });
  socket.on('error', () => undefined);
  const lines = [`POST ${url.pathname.replace(/\/$/, '')}/upload HTTP/1.1`, `Host: ${url.host}`, `Content-Length: ${length}`];
  for (const [k, v] of Object.entries(headers)) lines.push(`${k}: ${v}`);
  socket.write(lines.join('\r\n') + '\r\n\r\n');
  return socket;
}

/**
 * Sends a POST whose Content-Length promises all of `body`, writes only `sendBytes` of it,
 * waits until the server has had the chance to read them, then destroys the socket.
 */
export async function cutPost(base: string, headers: Record<string, string>, body: Uint8Array, sendBytes: number): Promise<void> {
  const socket = await postHead(base, headers, body.length);
  await new Promise<void>((resolve) => socket.write(body.subarray(0, sendBytes), () => resolve()));
  // Give the server a moment to receive what was written before the connection dies.
  await new Promise((r) => setTimeout(r, 50));
  socket.destroy();
}

/** Opens a raw socket and sends the head of a POST plus `first` body bytes; returns the socket. */
export async function openPost(base: string, headers: Record<string, string>, length: number, first: Uint8Array) {
  const socket = await postHead(base, headers, length);
  let received = '';
  socket.on('data', (d: Buffer) => {
    received += d.toString('latin1');
  });
  socket.write(first);
  return { socket, received: () => received };
}

/**
 * Sends raw bytes on a fresh socket and resolves with everything received until the server closes
 * it (as latin1 text). For requests fetch cannot make: malformed heads, raw UTF-8 header bytes.
 */
export function rawRequest(base: string, bytes: string | Uint8Array): Promise<string> {
  const url = new URL(base);
  return new Promise((resolve, reject) => {
    const socket = connect(Number(url.port), url.hostname);
    let out = '';
    socket.on('data', (d: Buffer) => (out += d.toString('latin1')));
    socket.on('close', () => resolve(out));
    socket.on('error', (e) => (out ? resolve(out) : reject(e)));
    socket.write(bytes);
  });
}

/** A GET /status or empty-bodied request head whose X-File-Id is sent as the given raw bytes. */
export function headWithRawId(method: string, path: string, id: Uint8Array, extra = ''): Buffer {
  return Buffer.concat([
    Buffer.from(`${method} ${path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\nX-File-Id: `, 'latin1'),
    id,
    Buffer.from(`\r\n${extra}\r\n`, 'latin1'),
  ]);
}

/** Status line, headers (lower-case names) and body of one raw HTTP/1.1 response. */
export function parseRaw(text: string): { status: number; headers: Record<string, string>; body: string } {
  const end = text.indexOf('\r\n\r\n');
  const head = end < 0 ? text : text.slice(0, end);
  const [first = '', ...lines] = head.split('\r\n');
  const headers: Record<string, string> = {};
  for (const line of lines) {
    const colon = line.indexOf(':');
    if (colon > 0) headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
  }
  return { status: Number(first.split(' ')[1]), headers, body: end < 0 ? '' : text.slice(end + 4) };
}

/** Every file under `dir`, as paths relative to it. */
export async function listFiles(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const entry of await readdir(dir, { withFileTypes: true, recursive: true })) {
    if (entry.isFile()) out.push(relative(dir, join(entry.parentPath, entry.name)));
  }
  return out.sort();
}

export const LAYOUT = /^(partial|complete)\/[0-9a-f]{64}(\.json|\.guard)?$/;

export async function waitFor(check: () => Promise<boolean>, timeoutMs = 5000): Promise<void> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    if (await check()) return;
    if (Date.now() > until) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** A request body the test feeds: push() a chunk, end() it, or fail() it (a client cut). */
export function feed() {
  const queue: Array<Uint8Array | Error | null> = [];
  let wake: (() => void) | undefined;
  const put = (item: Uint8Array | Error | null): void => {
    queue.push(item);
    wake?.();
    wake = undefined;
  };
  async function* read(): AsyncGenerator<Uint8Array> {
    for (;;) {
      while (queue.length === 0) await new Promise<void>((r) => (wake = r));
      const item = queue.shift()!;
      if (item === null) return;
      if (item instanceof Error) throw item;
      yield item;
    }
  }
  return { body: read(), push: (b: Uint8Array) => put(b), end: () => put(null), fail: (e: Error) => put(e) };
}

/**
 * A FileStore on `dir` with a fake clock (`t.now`), counting its data writes and fsyncs; `failSync`
 * makes fsyncs fail with EIO, and an fsync that begins while `gate` is set waits for it.
 */
export function countingStore(dir: string, checkpoint: CheckpointPolicy, ref: UploadRef) {
  // `gate`: an fsync that begins while it is set waits for it.
  const t = { now: 0, writes: 0, syncs: 0, failedSyncs: 0, failSync: false, gate: undefined as Promise<void> | undefined };
  const store = new FileStore({
    dir,
    clock: { now: () => t.now },
    checkpoint,
    writes: {
      chunks: async (fh, buffers, position) => {
        await writeAll(fh, buffers, position);
        t.writes++;
      },
      sync: async (fh) => {
        t.syncs++;
        await t.gate;
        if (t.failSync) {
          t.failedSyncs++;
          throw Object.assign(new Error('EIO: i/o error, fsync'), { code: 'EIO' });
        }
        await fh.sync();
      },
    },
  });
  const offset = async (): Promise<number | undefined> => (await store.status(ref))?.offset;
  const dataPath = join(dir, 'partial', storageKey(ref));
  return { store, t, offset, dataPath };
}
