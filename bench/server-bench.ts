// Server throughput over loopback against the physical baseline, measured in the same run:
// a plain node:http server that only appends each request body to a file and fsyncs it once at the
// end before answering (the same durability our server gives an acknowledged offset).
// Each server runs in its own child process, so its peak RSS (VmHWM) is its own.
import { createHash } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdtemp, open, rm } from 'node:fs/promises';
import { request, createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { fileURLToPath } from 'node:url';
import { readFileSync } from 'node:fs';
import { spawnListening, type Listening } from '../lab/processes.js';
import { MiB, mibps, printTable, verdict, type Row } from './table.js';

const self = fileURLToPath(import.meta.url);
const root = join(self, '..', '..');

/** The baseline: pipe to file, fsync, 200. Appends, so chunked uploads cost it the same requests. */
function runBaselineServer(dir: string): void {
  const server = createServer({ requestTimeout: 0 }, (req, res) => {
    const id = createHash('sha256').update(String(req.headers['x-file-id'])).digest('hex');
    void (async () => {
      const path = join(dir, id);
      await pipeline(req, createWriteStream(path, { flags: 'a' }));
      // fsync is per file, not per descriptor: this flushes what the stream wrote.
      const fh = await open(path, 'r');
      await fh.sync();
      await fh.close();
      res.end('ok');
    })().catch(() => res.destroy());
  });
  server.listen(0, '127.0.0.1', () => {
    const a = server.address();
    console.log(`baseline listening on http://127.0.0.1:${typeof a === 'object' && a ? a.port : 0}`);
  });
}

export interface Scenario {
  readonly name: string;
  readonly files: number;
  readonly size: number;
  /** 0 = the whole file in one POST. */
  readonly chunk: number;
  readonly digest: boolean;
}

export function peakRss(pid: number): number {
  try {
    const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) * 1024 : 0;
  } catch {
    return 0;
  }
}

function postFile(url: string, id: string, path: string, start: number, length: number, total: number, digest: string | undefined): Promise<void> {
  return new Promise((resolve, reject) => {
    const headers: Record<string, string> = {
      'X-File-Id': id,
      'X-Start-Byte': String(start),
      'X-File-Size': String(total),
      'Content-Length': String(length),
    };
    if (digest) headers['Content-Digest'] = digest;
    const req = request(`${url}/upload`, { method: 'POST', headers }, (res) => {
      res.resume();
      res.on('end', () => (res.statusCode === 200 ? resolve() : reject(new Error(`HTTP ${res.statusCode}`))));
    });
    req.on('error', reject);
    if (length === 0) return void req.end();
    createReadStream(path, { start, end: start + length - 1, highWaterMark: MiB }).pipe(req);
  });
}

async function digestOf(path: string, start: number, length: number): Promise<string> {
  const hash = createHash('sha256');
  for await (const c of createReadStream(path, { start, end: start + length - 1, highWaterMark: MiB })) hash.update(c as Buffer);
  return `sha-256=:${hash.digest('base64')}:`;
}

export async function uploadOne(url: string, id: string, path: string, s: Scenario): Promise<void> {
  const step = s.chunk || s.size;
  for (let start = 0; start < s.size; start += step) {
    const length = Math.min(step, s.size - start);
    // The client hashes before sending, like the service worker does: inside the measured time
    // for both servers alike (the baseline ignores the digest; ours verifies it).
    const digest = s.digest ? await digestOf(path, start, length) : undefined;
    await postFile(url, id, path, start, length, s.size, digest);
  }
}

async function measure(kind: 'ours' | 'baseline', s: Scenario, sources: string[], work: string): Promise<{ mbps: number; rss: number }> {
  const dir = await mkdtemp(join(work, `${kind}-`));
  const server: Listening =
    kind === 'ours'
      ? await spawnListening(process.execPath, ['--import', 'tsx', join(root, 'server', 'cli.ts')], {
          PORT: '0',
          UPLOAD_DIR: dir,
          STATIC_DIR: join(dir, 'none'),
        })
      : await spawnListening(process.execPath, ['--import', 'tsx', self, '--baseline-server', dir], {});
  try {
    const t0 = performance.now();
    await Promise.all(sources.slice(0, s.files).map((p, i) => uploadOne(server.url, `${s.name}-${i}`, p, s)));
    const ms = performance.now() - t0;
    return { mbps: mibps(s.files * s.size, ms), rss: peakRss(server.process.pid!) };
  } finally {
    await server.kill('SIGKILL');
    await rm(dir, { recursive: true, force: true });
  }
}

export async function makeSource(path: string, size: number): Promise<void> {
  const fh = await open(path, 'w');
  const block = Buffer.alloc(4 * MiB);
  for (let off = 0; off < size; off += block.length) {
    for (let i = 0; i < block.length; i += 4) block.writeUInt32LE((Math.random() * 0xffffffff) >>> 0, i);
    await fh.write(block, 0, Math.min(block.length, size - off));
  }
  await fh.close();
}

export async function runServerBench(): Promise<void> {
  const work = await mkdtemp(join(tmpdir(), 'ru-bench-'));
  try {
    const big = join(work, 'big.bin');
    await makeSource(big, 256 * MiB);
    const smalls = Array.from({ length: 20 }, (_, i) => join(work, `small-${i}.bin`));
    for (const p of smalls) await makeSource(p, 16 * MiB);
    const scenarios: Array<[Scenario, string[]]> = [
      // The small single upload is the reference for "RSS flat in file size".
      [{ name: '16 MiB, one POST', files: 1, size: 16 * MiB, chunk: 0, digest: false }, smalls],
      [{ name: '256 MiB, one POST', files: 1, size: 256 * MiB, chunk: 0, digest: false }, [big]],
      [{ name: '256 MiB, 16 MiB chunks + digest', files: 1, size: 256 * MiB, chunk: 16 * MiB, digest: true }, [big]],
      [{ name: '20 × 16 MiB concurrent, one POST each', files: 20, size: 16 * MiB, chunk: 0, digest: false }, smalls],
      [{ name: '20 × 16 MiB concurrent, digest', files: 20, size: 16 * MiB, chunk: 0, digest: true }, smalls],
    ];
    const rows: Row[] = [];
    // SERVER_BENCH_ONLY=<text> runs only the scenarios whose name contains it.
    const only = process.env['SERVER_BENCH_ONLY'];
    for (const [s, sources] of scenarios) {
      if (only && !s.name.includes(only)) continue;
      // Best of two alternating runs each, so neither server gets the warmer disk.
      const base: number[] = [];
      const ours: number[] = [];
      let rss = 0;
      let baseRss = 0;
      for (let round = 0; round < 2; round++) {
        const b = await measure('baseline', s, sources, work);
        base.push(b.mbps);
        baseRss = Math.max(baseRss, b.rss);
        const o = await measure('ours', s, sources, work);
        ours.push(o.mbps);
        rss = Math.max(rss, o.rss);
      }
      const b = Math.max(...base);
      const m = Math.max(...ours);
      rows.push({ measure: `${s.name}: baseline`, value: `${b.toFixed(0)} MB/s` });
      rows.push({ measure: `${s.name}: ours`, value: `${m.toFixed(0)} MB/s (${(m / b).toFixed(2)}×)`, target: '≥ 0.80×', verdict: verdict(m / b >= 0.8) });
      rows.push({ measure: `${s.name}: peak RSS ours / baseline`, value: `${(rss / MiB).toFixed(0)} / ${(baseRss / MiB).toFixed(0)} MiB` });
    }
    printTable('server: loopback upload throughput vs pipe-to-file + fsync baseline (MB = MiB)', rows);
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}

if (process.argv[2] === '--baseline-server' && process.argv[3]) runBaselineServer(process.argv[3]);
