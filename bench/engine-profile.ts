// Where each engine's upload time goes, measured piece by piece in that engine's page on the demo's
// origin (`npm run bench profile`; BENCH_ENGINES picks engines): SHA-256 through WebCrypto, reading
// a picked File in chunks, reading the same file back from IndexedDB, one POST per chunk at
// several chunk sizes (the per-request cost), XHR vs fetch, and the test proxy's cost.
import { join } from 'node:path';
import { selectedEngines, type Tab } from '../lab/engines/index.js';
import { assertDemoBuilt, openDemo, tempDir } from '../lab/demo.js';
import { startFaultProxy } from '../lab/fault-proxy.js';
import { writeRandomFile } from './bench-files.js';
import { startOurs } from './bench-servers.js';
import { pickIntoBenchInput, xhrUpload } from './browser-bench.js';
import { MiB, median, mibps, printTable, type Row } from './table.js';

const SIZE = 128 * MiB;
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);

interface Pieces {
  digestMiBps: number;
  fileReadMiBps: number;
  idbStoreMs: number;
  idbReadMiBps: number;
  idbReadDigestMiBps: number;
  fetchMiBps: Record<string, number>;
  fetchDigestMiBps: number;
}

/** Runs in the page: every measurement on the file picked into #bench. */
function measure(args: { chunks: number[]; round: number }): Promise<Pieces> {
  const file = document.querySelector<HTMLInputElement>('#bench')!.files![0]!;
  const MB = 1024 * 1024;
  const rate = (bytes: number, ms: number): number => bytes / MB / (ms / 1000);
  const idb = <T>(req: IDBRequest<T>): Promise<T> => new Promise((res, rej) => ((req.onsuccess = () => res(req.result)), (req.onerror = () => rej(req.error))));
  const readAll = async (blob: Blob, chunk: number, digest: boolean): Promise<number> => {
    const t0 = performance.now();
    for (let at = 0; at < blob.size; at += chunk) {
      const bytes = await blob.slice(at, at + chunk).arrayBuffer();
      if (digest) await crypto.subtle.digest('SHA-256', bytes);
    }
    return rate(blob.size, performance.now() - t0);
  };
  const post = async (chunk: number, digest: boolean): Promise<number> => {
    const id = `profile-${args.round}-${chunk}-${digest}-${Math.random()}`;
    const t0 = performance.now();
    for (let at = 0; at < file.size; at += chunk) {
      const body = file.slice(at, at + chunk);
      const headers: Record<string, string> = { 'X-File-Id': id, 'X-Start-Byte': String(at), 'X-File-Size': String(file.size) };
      if (digest) {
        const sum = new Uint8Array(await crypto.subtle.digest('SHA-256', await body.arrayBuffer()));
        headers['Content-Digest'] = `sha-256=:${btoa(String.fromCharCode(...sum))}:`;
      }
      const response = await fetch('/upload', { method: 'POST', headers, body });
      if (!response.ok) throw new Error(`POST ${response.status}: ${await response.text()}`);
    }
    return rate(file.size, performance.now() - t0);
  };
  return (async () => {
    const buffer = new Uint8Array(32 * MB);
    crypto.getRandomValues(buffer.subarray(0, 65536));
    let t0 = performance.now();
    for (let i = 0; i < 4; i++) await crypto.subtle.digest('SHA-256', buffer);
    const digestMiBps = rate(4 * buffer.length, performance.now() - t0);
    const fileReadMiBps = await readAll(file, 32 * MB, false);

    const db = await new Promise<IDBDatabase>((res, rej) => {
      const req = indexedDB.open('engine-profile', 1);
      req.onupgradeneeded = () => req.result.createObjectStore('blobs');
      req.onsuccess = () => res(req.result);
      req.onerror = () => rej(req.error);
    });
    t0 = performance.now();
    const tx = db.transaction('blobs', 'readwrite');
    tx.objectStore('blobs').put(file, 'f');
    await new Promise((res, rej) => ((tx.oncomplete = res), (tx.onerror = () => rej(tx.error))));
    const idbStoreMs = performance.now() - t0;
    const stored = await idb<Blob>(db.transaction('blobs').objectStore('blobs').get('f'));
    const idbReadMiBps = await readAll(stored, 32 * MB, false);
    const idbReadDigestMiBps = await readAll(stored, 32 * MB, true);
    await idb(db.transaction('blobs', 'readwrite').objectStore('blobs').delete('f'));
    db.close();

    const fetchMiBps: Record<string, number> = {};
    for (const chunk of args.chunks) fetchMiBps[String(chunk / MB)] = await post(chunk, false);
    const fetchDigestMiBps = await post(32 * MB, true);
    return { digestMiBps, fileReadMiBps, idbStoreMs, idbReadMiBps, idbReadDigestMiBps, fetchMiBps, fetchDigestMiBps };
  })();
}

export async function runEngineProfile(): Promise<Row[]> {
  assertDemoBuilt();
  const engines = selectedEngines(process.env.BENCH_ENGINES ?? process.env.BROWSER_ENGINES);
  const files = await tempDir('profile-files');
  const uploads = await tempDir('profile-uploads');
  const server = await startOurs(uploads.path);
  const proxy = await startFaultProxy({ targetPort: server.port });
  const rows: Row[] = [];
  const chunks = [1, 4, 16, 32].map((n) => n * MiB);
  try {
    const path = join(files.path, 'profile.bin');
    await writeRandomFile(path, SIZE);
    for (const engine of engines) {
      engine.assertInstalled();
      const profile = await tempDir(`profile-${engine.name}`);
      const session = await engine.launch(profile.path);
      try {
        const direct: Tab = await openDemo(session, server.url);
        const proxied: Tab = await openDemo(session, proxy.url);
        const runs: Pieces[] = [];
        const xhr: number[] = [];
        const xhrProxy: number[] = [];
        const readSizes: number[] = [];
        for (let round = 0; round < ROUNDS; round++) {
          await pickIntoBenchInput(direct, path);
          runs.push(await direct.evaluate(measure, { chunks, round }));
          xhr.push(mibps(SIZE, await xhrUpload(direct, path, `profile-xhr-${round}-${Date.now()}`)));
          const before = proxy.stats();
          xhrProxy.push(mibps(SIZE, await xhrUpload(proxied, path, `profile-xhr-proxy-${round}-${Date.now()}`)));
          const after = proxy.stats();
          readSizes.push((after.clientToServerBytes - before.clientToServerBytes) / (after.reads - before.reads));
        }
        const med = (pick: (p: Pieces) => number): string => median(runs.map(pick)).toFixed(0);
        const e = session.version;
        const mine: Row[] = [
          { measure: `${e}: SHA-256 (WebCrypto, 32 MiB buffers), MiB/s`, value: med((p) => p.digestMiBps) },
          { measure: `${e}: read picked File, 32 MiB slices, MiB/s`, value: med((p) => p.fileReadMiBps) },
          { measure: `${e}: store the File in IndexedDB, ms`, value: med((p) => p.idbStoreMs) },
          { measure: `${e}: read it back from IndexedDB, 32 MiB slices, MiB/s`, value: med((p) => p.idbReadMiBps) },
          { measure: `${e}:   … and hash each slice, MiB/s`, value: med((p) => p.idbReadDigestMiBps) },
          ...chunks.map((c) => ({ measure: `${e}: page fetch, one POST per ${c / MiB} MiB, MiB/s`, value: med((p) => p.fetchMiBps[String(c / MiB)]!) })),
          { measure: `${e}: page fetch, 32 MiB POSTs with Content-Digest, MiB/s`, value: med((p) => p.fetchDigestMiBps) },
          { measure: `${e}: page XHR, one POST, MiB/s`, value: median(xhr).toFixed(0) },
          { measure: `${e}: page XHR, one POST through the test proxy, MiB/s`, value: median(xhrProxy).toFixed(0) },
          { measure: `${e}:   … mean bytes per socket read at the proxy, KiB`, value: (median(readSizes) / 1024).toFixed(1) },
        ];
        printTable(`Where the time goes: ${e} (${SIZE / MiB} MiB, median of ${ROUNDS})`, mine);
        rows.push(...mine);
      } finally {
        await session.close();
        await profile.remove();
      }
    }
  } finally {
    await proxy.close();
    await server.kill('SIGTERM');
    await Promise.all([files.remove(), uploads.remove()]);
  }
  return rows;
}
