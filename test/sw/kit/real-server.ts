// An engine in Node on real sockets: wired by installUploader on a fake scope whose fetch is
// Node's, IndexedDB from fake-indexeddb, the real server behind the fault proxy, the real clock.
// For what only real sockets show (cuts mid-body, replayed requests, a proxy going away).
import 'fake-indexeddb/auto';
import { IDBFactory } from 'fake-indexeddb';
import { readFile, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { UploadEngine } from '../../../sw/engine.js';
import { IdbRecordStore } from '../../../sw/idb-record-store.js';
import { installUploader, type InstallOptions } from '../../../sw/install.js';
import { sha256 } from '../../helpers/hash.js';
import { startFaultProxy, type FaultProxy } from '../../../lab/fault-proxy.js';
import { startTestServer, type TestServer } from '../../helpers/server.js';
import type { StartServerOptions } from '../../../server/index.js';
import { fakeScope } from './fake-scope.js';

export const KiB = 1024;
export const MiB = 1024 * KiB;
/** Small fixed chunks, so a few MiB make many. */
export const TEST_CHUNK = 256 * KiB;

export interface RealServerKit {
  readonly server: TestServer;
  readonly proxy: FaultProxy;
  readonly factory: IDBFactory;
  /** Every request the engines of this kit made, in order, as `METHOD url`. */
  readonly requests: string[];
  /** Of those, the POSTs. */
  readonly posts: number;
  /**
   * `classic`: the engine's fetch answers `GET /progress` with 404 itself, as a server without it
   * (the classic protocol's) would: the chunked path, over the real server for everything else.
   */
  engine(options?: Partial<InstallOptions>, how?: { classic?: boolean }): UploadEngine;
  close(): Promise<void>;
}

export async function realServerKit(serverOptions: StartServerOptions = {}): Promise<RealServerKit> {
  const server = await startTestServer({ sweepIntervalMs: 0, ...serverOptions });
  const proxy = await startFaultProxy({ targetPort: server.port });
  const factory = new IDBFactory();
  const engines: UploadEngine[] = [];
  const kit: RealServerKit = {
    server,
    proxy,
    factory,
    requests: [],
    get posts() {
      return this.requests.filter((r) => r.startsWith('POST ')).length;
    },
    engine(options = {}, how = {}) {
      const { asScope, scope } = fakeScope();
      scope.fetch.mockImplementation((input: RequestInfo | URL, init?: RequestInit) => {
        const url = String(input instanceof Request ? input.url : input);
        kit.requests.push(`${init?.method ?? 'GET'} ${url}`);
        if (how.classic === true && new URL(url).pathname.endsWith('/progress')) return Promise.resolve(new Response('not found', { status: 404 }));
        return fetch(input, init);
      });
      const engine = installUploader({
        scope: asScope,
        store: new IdbRecordStore({ factory }),
        endpoint: proxy.url,
        retry: { baseMs: 20, maxMs: 200 },
        chunk: { minBytes: TEST_CHUNK, maxBytes: TEST_CHUNK, maxBytesWithoutDigest: TEST_CHUNK, initialBytes: TEST_CHUNK, granularity: 64 * KiB },
        timeouts: { baseMs: 5_000 },
        idleGraceMs: 2_000,
        ...options,
      });
      engines.push(engine);
      return engine;
    },
    async close() {
      for (const e of engines) for (const u of e.views()) if (u.state === 'uploading' || u.state === 'waiting') await e.handle({ type: 'pause', uploadId: u.id }).catch(() => undefined);
      await proxy.close();
      await server.close();
    },
  };
  return kit;
}

export function addRequest(bytes: Uint8Array<ArrayBuffer>, name: string, lastModified = 1_700_000_000_000) {
  return { type: 'add' as const, file: new File([bytes], name, { type: 'application/octet-stream' }), name, lastModified, options: {} };
}

/** SHA-256 of the completed file with this file id, read through the metadata beside it. */
export async function completedSha(uploadDir: string, fileId: string): Promise<string | undefined> {
  const dir = join(uploadDir, 'complete');
  const names = await readdir(dir).catch(() => [] as string[]);
  for (const name of names.filter((n) => n.endsWith('.json'))) {
    const meta = JSON.parse(await readFile(join(dir, name), 'utf8')) as { id?: string };
    if (meta.id === fileId) return sha256(await readFile(join(dir, name.slice(0, -'.json'.length))));
  }
  return undefined;
}
