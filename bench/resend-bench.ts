// Integrity vs re-sending, measured side by side: the real engine (Node, fake-indexeddb) with its
// default adaptive chunks, through a rate-limited proxy that cuts connections at random positions,
// with and without Content-Digest.
import { ACTIVE_STATES } from '../src/protocol/states.js';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startServer } from '../server/index.js';
import { startFaultProxy } from '../lab/fault-proxy.js';
import { makeBytes } from '../lab/bytes.js';
import { nodeEngine } from './node-engine.js';
import { MiB, mibps, printTable, verdict, type Row } from './table.js';

const SIZE = 96 * MiB;
const RATE = 16 * MiB; // a link where "about a second of transfer" is a meaningful chunk
const CUTS = 8;

function cutPositions(seed: number): number[] {
  const out: number[] = [];
  let x = seed;
  for (let i = 0; i < CUTS; i++) {
    x = (x * 1103515245 + 12345) >>> 0;
    // Spread over the first three quarters of the file, at arbitrary byte positions.
    out.push(Math.floor(((i + (x % 1000) / 1000) * SIZE * 0.75) / CUTS));
  }
  return out;
}

type Integrity = 'file' | 'chunks' | 'none';

async function run(integrity: Integrity): Promise<{ resentPerCut: number; cuts: number; ms: number }> {
  const dir = await mkdtemp(join(tmpdir(), 'ru-resend-'));
  const server = await startServer({ uploadDir: dir, sweepIntervalMs: 0 });
  const proxy = await startFaultProxy({ targetPort: server.port });
  try {
    proxy.setRate(RATE);
    proxy.cutAt(cutPositions(7));
    // Retries as fast as the tests' (the default backoff would make this a test of patience).
    const digest = integrity === 'none' ? { digest: false } : { digest: true, integrity };
    const engine = nodeEngine(proxy.url, { ...digest, retry: { baseMs: 20, maxMs: 200 } });
    const bytes = makeBytes(SIZE, 11);
    const t0 = Date.now();
    const name = `resend-${integrity}.bin`;
    await engine.handle({ type: 'add', file: new File([bytes], name), name, lastModified: 1, options: {} });
    // whenIdle returns between a failure and its retry once the retry is further off than its grace.
    while (ACTIVE_STATES.includes(engine.views()[0]?.state ?? 'done')) {
      await engine.whenIdle();
      await new Promise((r) => setTimeout(r, 50));
      if (Date.now() - t0 > 300_000) break;
    }
    const ms = Date.now() - t0;
    const view = engine.views()[0]!;
    if (view.state !== 'done') throw new Error(`upload ended ${view.state}: ${view.error?.message ?? ''}`);
    const stats = proxy.stats();
    return { resentPerCut: (stats.bodyBytes - SIZE) / Math.max(1, stats.cuts), cuts: stats.cuts, ms };
  } finally {
    await proxy.close();
    await server.close();
    await rm(dir, { recursive: true, force: true });
  }
}

export async function runResendBench(): Promise<Row[]> {
  const file = await run('file');
  const chunks = await run('chunks');
  const none = await run('none');
  const kib = (n: number): string => `${(n / 1024).toFixed(0)} KiB`;
  const perCut = (label: string, r: { resentPerCut: number; cuts: number }): Row => ({
    measure: `bytes re-sent per cut, ${label} (${r.cuts} cuts, ${SIZE / MiB} MiB at ${RATE / MiB} MiB/s)`,
    value: kib(r.resentPerCut),
    target: '≤ 1 MiB',
    verdict: verdict(r.resentPerCut <= MiB),
  });
  const rows: Row[] = [
    perCut('file digest (default)', file),
    perCut('Content-Digest per chunk', chunks),
    perCut('no digest', none),
    { measure: 'throughput with cuts, file digest / per chunk / none (MiB/s)', value: [file, chunks, none].map((r) => mibps(SIZE, r.ms).toFixed(1)).join(' / ') },
  ];
  printTable('Re-sent bytes per cut (engine in Node, real server, proxy)', rows);
  return rows;
}
