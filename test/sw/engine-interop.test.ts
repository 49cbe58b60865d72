// Our worker's engine (in Node: real fetch, fake-indexeddb) against real servers over tus and the
// IETF draft: @tus/server with @tus/file-store, and our own server, each behind the fault proxy
// that cuts connections mid-chunk. Files byte-identical; states, not sleeps.
import { afterEach, describe, expect, it } from 'vitest';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtemp, readFile, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Server as TusServer } from '@tus/server';
import { FileStore as TusFileStore } from '@tus/file-store';
import type { UploadEngine } from '../../sw/engine.js';
import { IdbRecordStore } from '../../sw/idb-record-store.js';
import type { CompletedUpload } from '../../server/index.js';
import { startFaultProxy, type FaultProxy } from '../../lab/fault-proxy.js';
import { makeBytes, sha256 } from '../helpers/hash.js';
import { until } from '../../lab/poll.js';
import { KiB, MiB, TEST_CHUNK, addRequest, realServerKit, type RealServerKit } from './kit/real-server.js';
import type { StartServerOptions } from '../../server/index.js';

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

const stateOf = (engine: UploadEngine, id: string) => engine.views().find((v) => v.id === id);

/** @tus/server with @tus/file-store on port 0, behind a fault proxy. */
async function peerTus(): Promise<{ proxy: FaultProxy; dir: string }> {
  const dir = await mkdtemp(join(tmpdir(), 'ru-tus-peer-'));
  const tus = new TusServer({ path: '/files', datastore: new TusFileStore({ directory: dir }) });
  const server: Server = createServer((req, res) => void tus.handle(req, res));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const proxy = await startFaultProxy({ targetPort: (server.address() as AddressInfo).port });
  cleanups.push(async () => {
    await proxy.close();
    server.closeAllConnections();
    await new Promise((r) => server.close(r));
    await rm(dir, { recursive: true, force: true });
  });
  return { proxy, dir };
}

/** The file @tus/file-store keeps for the upload whose metadata names `name`. */
async function peerFile(dir: string, name: string): Promise<Buffer | undefined> {
  for (const entry of await readdir(dir)) {
    if (!entry.endsWith('.json')) continue;
    const info = JSON.parse(await readFile(join(dir, entry), 'utf8')) as { metadata?: Record<string, string> };
    if (info.metadata?.['filename'] === name) return readFile(join(dir, entry.slice(0, -'.json'.length)));
  }
  return undefined;
}

/** Our server with onComplete recorded, behind a fault proxy, engines pointed at it. */
async function ours(options: StartServerOptions = {}): Promise<{ kit: RealServerKit; completed: CompletedUpload[] }> {
  const completed: CompletedUpload[] = [];
  const kit = await realServerKit({ ...options, onComplete: (info) => void completed.push(info) });
  cleanups.push(() => kit.close());
  return { kit, completed };
}

describe('worker → @tus/server (@tus/file-store), protocol tus', () => {
  it('uploads through cut connections, byte-identical (digests off: @tus/server checks no checksums)', async () => {
    const { proxy, dir } = await peerTus();
    const kit = await realServerKit();
    cleanups.push(() => kit.close());
    const engine = kit.engine({ protocol: 'tus', endpoint: `${proxy.url}/files`, digest: false });
    const bytes = makeBytes(3 * MiB, 11);
    proxy.cutAt([500_000, 1_700_000]);
    const view = await engine.handle(addRequest(bytes, 'peer.bin'));
    await until('done', () => stateOf(engine, view.id)?.state === 'done', 60_000);
    expect(proxy.stats().cuts).toBe(2);
    expect(sha256((await peerFile(dir, 'peer.bin'))!)).toBe(sha256(bytes));
    // Resent at most a chunk per cut: it resumed by HEAD, not from zero.
    expect(proxy.stats().bodyBytes - bytes.length).toBeLessThan(2 * TEST_CHUNK);
  });

  it('a small file goes with its creation (creation-with-upload)', async () => {
    const { proxy, dir } = await peerTus();
    const kit = await realServerKit();
    cleanups.push(() => kit.close());
    const engine = kit.engine({ protocol: 'tus', endpoint: `${proxy.url}/files`, digest: false });
    const bytes = makeBytes(10_000, 12);
    const view = await engine.handle(addRequest(bytes, 'small.bin'));
    await until('done', () => stateOf(engine, view.id)?.state === 'done', 30_000);
    expect(proxy.stats().requests).toBe(2); // OPTIONS, POST with the bytes
    expect(sha256((await peerFile(dir, 'small.bin'))!)).toBe(sha256(bytes));
  });

  it('with digests on, the row fails at once with a clear reason (no checksum extension), not a retry storm', async () => {
    const { proxy } = await peerTus();
    const kit = await realServerKit();
    cleanups.push(() => kit.close());
    const engine = kit.engine({ protocol: 'tus', endpoint: `${proxy.url}/files`, digest: true });
    const view = await engine.handle(addRequest(makeBytes(MiB, 13), 'sum.bin'));
    await until('failed', () => stateOf(engine, view.id)?.state === 'failed', 30_000);
    expect(stateOf(engine, view.id)?.error).toMatchObject({ code: 'REJECTED' });
    expect(stateOf(engine, view.id)?.error?.message).toContain('no checksum extension');
    expect(proxy.stats().requests).toBe(1);
  });
});

describe('worker → our server over tus and the IETF draft', () => {
  it.each([['tus'], ['ietf']] as const)('%s: cut connections, digests on, byte-identical, name and type in onComplete', async (protocol) => {
    const { kit, completed } = await ours();
    const engine = kit.engine({ protocol, endpoint: `${kit.proxy.url}/files/`, digest: true });
    const bytes = makeBytes(3 * MiB, protocol === 'tus' ? 21 : 22);
    const before = kit.proxy.stats().clientToServerBytes;
    kit.proxy.cutAt([before + 600_000, before + 2_000_000]);
    const view = await engine.handle({ ...addRequest(bytes, `${protocol}.bin`), file: new File([bytes], `${protocol}.bin`, { type: 'application/x-test' }) });
    await until('done', () => stateOf(engine, view.id)?.state === 'done', 60_000);
    const done = await until('onComplete', () => completed.find((c) => c.metadata.name === `${protocol}.bin`));
    expect(done.metadata).toMatchObject({ type: 'application/x-test', size: bytes.length });
    expect(sha256(await readFile(done.path))).toBe(sha256(bytes));
    expect(kit.proxy.stats().cuts).toBe(2);
  });

  it.each([[true], [false]])('ietf, digests %s: a server that bounds each append (min 600 KiB, max 1 MiB; our chunks 256 KiB) gets appends within them, through a cut, byte-identical', async (digest) => {
    const { kit, completed } = await ours({ ietfAppendSize: { min: 600 * KiB, max: 1 * MiB } });
    // The kit's chunks are 256 KiB, and so is the most one request carries: let that be 4 MiB, above the server's min.
    const chunk = { minBytes: TEST_CHUNK, maxBytes: TEST_CHUNK, maxBytesWithoutDigest: 4 * MiB, initialBytes: TEST_CHUNK, initialBytesWithoutDigest: TEST_CHUNK, granularity: 64 * KiB };
    const engine = kit.engine({ protocol: 'ietf', endpoint: `${kit.proxy.url}/files/`, digest, chunk });
    const bytes = makeBytes(3 * MiB + 1234, digest ? 23 : 24);
    kit.proxy.cutAt([kit.proxy.stats().clientToServerBytes + 1_500_000]);
    const view = await engine.handle(addRequest(bytes, `bounded-${digest}.bin`));
    // The server answers 400 to an append under its minimum: the upload would fail REJECTED.
    await until('done', () => ['done', 'failed'].includes(stateOf(engine, view.id)?.state ?? ''), 60_000);
    expect(stateOf(engine, view.id)?.error).toBeUndefined();
    const done = await until('onComplete', () => completed.find((c) => c.metadata.name === `bounded-${digest}.bin`));
    expect(sha256(await readFile(done.path))).toBe(sha256(bytes));
    expect(kit.proxy.stats().cuts).toBe(1);
    expect(kit.requests.filter((r) => r.startsWith('PATCH ')).length).toBeGreaterThanOrEqual(4); // ≥ 3 appends of ≤ 1 MiB, and the cut one again
  });

  it('ietf: a small file sent whole with its creation to a server whose max-append-size is below it: created empty, then appended within it', async () => {
    const { kit, completed } = await ours({ ietfAppendSize: { max: 64 * KiB } });
    const engine = kit.engine({ protocol: 'ietf', endpoint: `${kit.proxy.url}/files/`, digest: true });
    const bytes = makeBytes(200 * KiB, 25);
    const view = await engine.handle(addRequest(bytes, 'small-bounded.bin'));
    await until('done', () => ['done', 'failed'].includes(stateOf(engine, view.id)?.state ?? ''), 60_000);
    expect(stateOf(engine, view.id)?.error).toBeUndefined();
    const done = await until('onComplete', () => completed.find((c) => c.metadata.name === 'small-bounded.bin'));
    expect(sha256(await readFile(done.path))).toBe(sha256(bytes));
    expect(kit.requests.filter((r) => r.startsWith('POST ')).length).toBe(2); // the whole file refused, then the empty creation
    expect(kit.requests.filter((r) => r.startsWith('PATCH ')).length).toBe(4); // 200 KiB in appends of at most 64 KiB
  });

  it.each([['tus'], ['ietf']] as const)('%s: the server forgot the upload (expired): the worker starts over from zero, once, and finishes', async (protocol) => {
    const { kit, completed } = await ours();
    const engine = kit.engine({ protocol, endpoint: `${kit.proxy.url}/files/`, digest: false });
    const bytes = makeBytes(2 * MiB, 31);
    kit.proxy.setRate(2 * MiB);
    const view = await engine.handle(addRequest(bytes, `exp-${protocol}.bin`));
    await until('some progress', () => (stateOf(engine, view.id)?.offset ?? 0) >= TEST_CHUNK, 30_000);
    await engine.handle({ type: 'pause', uploadId: view.id });
    // The server forgets it, as its sweep does after staleAfterMs untouched.
    const [record] = await new IdbRecordStore({ factory: kit.factory }).list();
    const url = record?.remote?.['url'];
    expect(url).toMatch(/\/files\/[A-Za-z0-9_-]{24}$/);
    const gone = await fetch(url!, { method: 'DELETE', headers: protocol === 'tus' ? { 'Tus-Resumable': '1.0.0' } : { 'Upload-Draft-Interop-Version': '8' } });
    expect(gone.status).toBe(204);
    kit.proxy.setRate(undefined);
    await engine.handle({ type: 'resume', uploadId: view.id });
    await until('done', () => stateOf(engine, view.id)?.state === 'done', 60_000);
    const done = await until('onComplete', () => completed.find((c) => c.metadata.name === `exp-${protocol}.bin`));
    expect(sha256(await readFile(done.path))).toBe(sha256(bytes));
    const [after] = await new IdbRecordStore({ factory: kit.factory }).list();
    expect(after?.remote?.['url']).not.toBe(url);
  });
});
