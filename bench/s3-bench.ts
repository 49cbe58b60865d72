// `npm run bench s3`: S3 storage on a real single-node Ceph (started here, stopped after), measured
// side by side in one run: one instance on S3 vs the disk store, two instances vs one, requests
// made to the bucket per uploaded GiB, server memory per concurrent upload, and how long a newer
// request on one instance takes to take over a stalled one on another.
import { request as httpRequest, createServer, type Server } from 'node:http';
import { connect } from 'node:net';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { GetObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { startCephCluster, type CephCluster } from '../scripts/ceph-cluster.js';
import { offsetOf, placeOf, type Manifest } from '../server/s3/manifest.js';
import { spawnListening, rssOf, type Listening } from '../lab/processes.js';
import { makeSource, peakRss, uploadOne, type Scenario } from './server-bench.js';
import { MiB, median, mibps, printTable, type Row } from './table.js';

const root = join(fileURLToPath(import.meta.url), '..', '..');
const BUCKET = 'ru-bench';

function startServer(env: Record<string, string>): Promise<Listening> {
  return spawnListening(process.execPath, ['--import', 'tsx', join(root, 'server', 'cli.ts')], { PORT: '0', STATIC_DIR: join(root, 'no-static'), ...env }, 60_000);
}

interface Run {
  readonly mbps: number;
  /** Peak RSS of each server, and its RSS once idle before the run. */
  readonly peak: number[];
  readonly idle: number[];
}

/** Uploads `s.files` files, spread round-robin over the servers, all at once. */
async function measure(servers: Listening[], s: Scenario, sources: string[], tag: string): Promise<Run> {
  const idle = servers.map((n) => rssOf(n.process.pid!));
  const t0 = performance.now();
  await Promise.all(sources.slice(0, s.files).map((p, i) => uploadOne(servers[i % servers.length]!.url, `${tag}-${s.name}-${i}`, p, s)));
  const ms = performance.now() - t0;
  return { mbps: mibps(s.files * s.size, ms), peak: servers.map((n) => peakRss(n.process.pid!)), idle };
}

/** `count` instances sharing one environment (so one bucket prefix), killed after `work`. */
async function withServers<T>(count: number, env: () => Promise<Record<string, string>>, work: (servers: Listening[]) => Promise<T>): Promise<T> {
  const servers: Listening[] = [];
  const shared = await env();
  try {
    for (let i = 0; i < count; i++) servers.push(await startServer(shared));
    return await work(servers);
  } finally {
    await Promise.all(servers.map((n) => n.kill('SIGKILL')));
  }
}

/** An HTTP proxy in front of the gateway that counts requests by method (S3 signs the Host it is sent, which passes unchanged). */
async function countingProxy(target: URL): Promise<{ url: string; counts: Map<string, number>; close(): Promise<void> }> {
  const counts = new Map<string, number>();
  const server: Server = createServer((req, res) => {
    counts.set(req.method ?? '?', (counts.get(req.method ?? '?') ?? 0) + 1);
    const up = httpRequest({ host: target.hostname, port: target.port, method: req.method, path: req.url, headers: req.headers }, (answer) => {
      res.writeHead(answer.statusCode ?? 502, answer.headers);
      answer.pipe(res);
    });
    up.on('error', () => res.destroy());
    req.pipe(up);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as { port: number }).port;
  return {
    url: `http://127.0.0.1:${port}`,
    counts,
    close: () => new Promise((r) => server.close(() => r())),
  };
}

/** Time from a newer POST on B to its answer, while A holds a stalled request for the same upload. */
async function takeoverLatency(a: Listening, b: Listening, round: number, committed: (id: string) => Promise<number>): Promise<number> {
  const id = `takeover-${round}`;
  const size = 32 * MiB;
  const socket = connect(Number(new URL(a.url).port), '127.0.0.1');
  await new Promise((r) => socket.once('connect', r));
  socket.on('error', () => undefined);
  socket.write(`POST /upload HTTP/1.1\r\nHost: x\r\nX-File-Id: ${id}\r\nX-Start-Byte: 0\r\nX-File-Size: ${size}\r\nContent-Length: ${size}\r\n\r\n`);
  socket.write(Buffer.alloc(9 * MiB, round));
  // Stalled once A has committed its first part: the request is alive and holds the lease. (Read
  // from the bucket: a GET /status would itself take the upload over.)
  for (const until = Date.now() + 60_000; ; ) {
    if ((await committed(id)) >= 8 * MiB) break;
    if (Date.now() > until) throw new Error('the stalled upload never committed a part');
    await new Promise((r) => setTimeout(r, 50));
  }
  const t0 = performance.now();
  const res = await fetch(`${b.url}/upload`, { method: 'POST', headers: { 'X-File-Id': id, 'X-Start-Byte': '0', 'X-File-Size': String(size) }, body: '' });
  await res.text();
  const ms = performance.now() - t0;
  socket.destroy();
  if (res.status !== 409) throw new Error(`takeover answered ${res.status}`);
  return ms;
}

export async function runS3Bench(): Promise<void> {
  let cluster: CephCluster | undefined;
  const rows: Row[] = [];
  const work = await mkdtemp(join(tmpdir(), 'ru-s3-bench-'));
  try {
    const t0 = Date.now();
    cluster = await startCephCluster();
    const startup = (Date.now() - t0) / 1000;
    const c = cluster;
    await c.createBucket(BUCKET);
    let n = 0;
    const s3Env = async (): Promise<Record<string, string>> => ({ ...c.env, STORAGE_URL: `s3://${BUCKET}/run-${n++}/` });
    const diskEnv = async (): Promise<Record<string, string>> => ({ UPLOAD_DIR: await mkdtemp(join(work, 'disk-')) });

    const big = join(work, 'big.bin');
    await makeSource(big, 256 * MiB);
    const smalls = Array.from({ length: 20 }, (_, i) => join(work, `small-${i}.bin`));
    for (const p of smalls) await makeSource(p, 16 * MiB);
    rows.push({ measure: 'Ceph start-up (mon + OSD + RGW)', value: `${startup.toFixed(1)} s` });

    const vsDisk: Array<[Scenario, string[]]> = [
      [{ name: '256 MiB, one POST', files: 1, size: 256 * MiB, chunk: 0, digest: false }, [big]],
      [{ name: '256 MiB, 16 MiB chunks + digest', files: 1, size: 256 * MiB, chunk: 16 * MiB, digest: true }, [big]],
      [{ name: '20 × 16 MiB concurrent, one POST each', files: 20, size: 16 * MiB, chunk: 0, digest: false }, smalls],
    ];
    for (const [s, sources] of vsDisk) {
      // Two alternating rounds each, best of two, so neither store gets the warmer caches.
      const disk: number[] = [];
      const s3: number[] = [];
      let perUpload = 0;
      for (let round = 0; round < 2; round++) {
        disk.push((await withServers(1, diskEnv, (sv) => measure(sv, s, sources, `d${round}`))).mbps);
        const r = await withServers(1, s3Env, (sv) => measure(sv, s, sources, `s${round}`));
        s3.push(r.mbps);
        perUpload = Math.max(perUpload, (r.peak[0]! - r.idle[0]!) / s.files);
      }
      const d = Math.max(...disk);
      const o = Math.max(...s3);
      rows.push({ measure: `${s.name}: disk store`, value: `${d.toFixed(0)} MB/s` });
      rows.push({ measure: `${s.name}: S3 (Ceph)`, value: `${o.toFixed(0)} MB/s (${(o / d).toFixed(2)}× disk)` });
      rows.push({ measure: `${s.name}: S3 server memory per upload (peak − idle RSS)`, value: `${(perUpload / MiB).toFixed(1)} MiB` });
    }

    const twenty: Scenario = { name: '20 × 16 MiB, 8 MiB chunks + digest', files: 20, size: 16 * MiB, chunk: 8 * MiB, digest: true };
    const one: number[] = [];
    const two: number[] = [];
    for (let round = 0; round < 2; round++) {
      one.push((await withServers(1, s3Env, (sv) => measure(sv, twenty, smalls, `one${round}`))).mbps);
      two.push((await withServers(2, s3Env, (sv) => measure(sv, twenty, smalls, `two${round}`))).mbps);
    }
    rows.push({ measure: `${twenty.name}: one instance`, value: `${Math.max(...one).toFixed(0)} MB/s` });
    rows.push({ measure: `${twenty.name}: two instances`, value: `${Math.max(...two).toFixed(0)} MB/s (${(Math.max(...two) / Math.max(...one)).toFixed(2)}×)` });

    // Requests per GiB, through a counting proxy (not in the timed runs: it costs CPU).
    const proxy = await countingProxy(new URL(c.endpoint));
    try {
      for (const s of [vsDisk[1]![0], { ...vsDisk[0]![0] }]) {
        proxy.counts.clear();
        await withServers(1, async () => ({ ...(await s3Env()), AWS_ENDPOINT_URL: proxy.url }), (sv) => measure(sv, s, [big], 'count'));
        const total = [...proxy.counts.values()].reduce((a, b) => a + b, 0);
        const perGiB = (total * 1024) / (s.size / MiB);
        const by = [...proxy.counts.entries()].map(([m, k]) => `${m} ${((k * 1024) / (s.size / MiB)).toFixed(0)}`).join(', ');
        rows.push({ measure: `bucket requests per GiB, ${s.name}`, value: `${perGiB.toFixed(0)} (${by})` });
      }
    } finally {
      await proxy.close();
    }

    const reader = new S3Client({
      endpoint: c.endpoint,
      region: c.region,
      forcePathStyle: true,
      credentials: { accessKeyId: c.accessKeyId, secretAccessKey: c.secretAccessKey },
      requestChecksumCalculation: 'WHEN_REQUIRED',
      responseChecksumValidation: 'WHEN_REQUIRED',
    });
    const committed = async (id: string): Promise<number> => {
      const p = placeOf({ namespace: '', id });
      const out = await reader.send(new GetObjectCommand({ Bucket: BUCKET, Key: `takeover/partial/${p.group}/${p.key}.json` })).catch(() => undefined);
      return out ? offsetOf(JSON.parse(await out.Body!.transformToString()) as Manifest) : 0;
    };
    const latencies = await withServers(2, async () => ({ ...c.env, STORAGE_URL: `s3://${BUCKET}/takeover/` }), async ([a, b]) => {
      const out: number[] = [];
      for (let round = 0; round < 5; round++) out.push(await takeoverLatency(a!, b!, round, committed));
      return out;
    });
    reader.destroy();
    rows.push({
      measure: 'takeover of a stalled request on another instance (5 runs)',
      value: `median ${median(latencies).toFixed(0)} ms (${Math.min(...latencies).toFixed(0)}–${Math.max(...latencies).toFixed(0)})`,
    });
  } finally {
    // Whatever was measured is printed, even when a later part failed.
    printTable('s3: S3 storage on a local single-node Ceph (RGW on loopback) vs the disk store (MB = MiB)', rows);
    await cluster?.stop();
    await rm(work, { recursive: true, force: true });
  }
}
