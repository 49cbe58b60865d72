// Side by side in one run, in headless Chromium: the service worker vs a plain page XHR POST to
// the same server, vs tus-js-client against @tus/server; memory for 16 MiB vs 1 GiB; resume latency.
import { open, readdir, rm, utimes } from 'node:fs/promises';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { DEMO_DIR, REPO, assertDemoBuilt, launch, openDemo, tempDir } from '../test/browser/harness.js';
import { freePort, peakSampler, rssOf, rssOfProcessesWith, spawnListening, type Listening } from '../test/helpers/processes.js';
import { startFaultProxy } from '../test/helpers/fault-proxy.js';
import { MiB, median, mibps, printTable, verdict, type Row } from './table.js';

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 4);

async function writeRandomFile(path: string, size: number): Promise<void> {
  const handle = await open(path, 'w');
  const block = randomBytes(16 * MiB);
  for (let written = 0; written < size; written += block.length) {
    await handle.write(block, 0, Math.min(block.length, size - written));
  }
  await handle.close();
}

function startOurs(uploadDir: string, port = 0): Promise<Listening> {
  return spawnListening(process.execPath, [join(REPO, 'dist/lib/server/cli.js')], {
    PORT: String(port),
    HOST: '127.0.0.1',
    UPLOAD_DIR: uploadDir,
    STATIC_DIR: DEMO_DIR,
  });
}

function startTus(uploadDir: string): Promise<Listening> {
  return spawnListening(join(REPO, 'node_modules/.bin/tsx'), [join(REPO, 'bench/tus-server.ts')], { PORT: '0', UPLOAD_DIR: uploadDir });
}

/** Frees disk between rounds; the folders stay, since a running server owns them. */
async function emptyDir(dir: string): Promise<void> {
  const names = await readdir(dir).catch(() => []);
  await Promise.all(names.map((name) => rm(join(dir, name), { recursive: true, force: true })));
}

/** A fresh lastModified gives a fresh classic file id, so every round is a new upload. */
async function freshen(path: string, round: number): Promise<void> {
  const t = new Date(Date.UTC(2026, 0, 1) + round * 1000);
  await utimes(path, t, t);
}

async function ensureBenchInput(page: Page): Promise<void> {
  await page.evaluate(() => {
    if (document.querySelector('#bench')) return;
    const input = document.createElement('input');
    input.type = 'file';
    input.id = 'bench';
    input.hidden = true;
    document.body.append(input);
  });
}

async function xhrUpload(page: Page, path: string, round: number): Promise<number> {
  await ensureBenchInput(page);
  await page.setInputFiles('#bench', path);
  return page.evaluate(
    (id) =>
      new Promise<number>((resolve, reject) => {
        const file = document.querySelector<HTMLInputElement>('#bench')!.files![0]!;
        const xhr = new XMLHttpRequest();
        const t0 = performance.now();
        xhr.open('POST', '/upload');
        xhr.setRequestHeader('X-File-Id', id);
        xhr.setRequestHeader('X-Start-Byte', '0');
        xhr.onload = () => (xhr.status === 200 ? resolve(performance.now() - t0) : reject(new Error(`XHR ${xhr.status}`)));
        xhr.onerror = () => reject(new Error('XHR failed'));
        xhr.send(file);
      }),
    `bench-xhr-${round}-${Date.now()}`,
  );
}

/** Time from pick to done; `stored` gets the part until the worker had it in IndexedDB (the row shows). */
async function swUpload(page: Page, path: string, stored?: number[]): Promise<number> {
  const before = await page.locator('li[data-state="done"]').count();
  const rowsBefore = await page.locator('li[data-upload-id]').count();
  const t0 = Date.now();
  await page.setInputFiles('#file', path);
  await page.waitForFunction((n) => document.querySelectorAll('li[data-upload-id]').length > n, rowsBefore, { polling: 10, timeout: 600_000 });
  stored?.push(Date.now() - t0);
  await page.waitForFunction((n) => document.querySelectorAll('li[data-state="done"]').length > n, before, { polling: 20, timeout: 600_000 });
  return Date.now() - t0;
}

async function tusUpload(page: Page, path: string): Promise<number> {
  await page.setInputFiles('#bench', path);
  return page.evaluate(
    () =>
      new Promise<number>((resolve, reject) => {
        const file = document.querySelector<HTMLInputElement>('#bench')!.files![0]!;
        const t0 = performance.now();
        const tus = (globalThis as unknown as { tus: { Upload: new (f: File, o: object) => { start(): void } } }).tus;
        new tus.Upload(file, {
          endpoint: '/files',
          metadata: { filename: file.name },
          retryDelays: [],
          onSuccess: () => resolve(performance.now() - t0),
          onError: (e: Error) => reject(e),
        }).start();
      }),
  );
}

export async function runBrowserBench(): Promise<Row[]> {
  assertDemoBuilt();
  const files = await tempDir('bench-files');
  const profile = await tempDir('bench-profile');
  const oursDir = await tempDir('bench-ours');
  const tusDir = await tempDir('bench-tus');
  const ours = await startOurs(oursDir.path);
  // A second origin (its own worker registration) whose worker sends no Content-Digest.
  const plainDir = await tempDir('bench-plain');
  const plain = await startOurs(plainDir.path);
  const tus = await startTus(tusDir.path);
  const context = await launch(profile.path);
  // tsx (esbuild keepNames) wraps named functions in `__name(...)`; functions sent to
  // page.evaluate run in the page, where that helper does not exist.
  await context.addInitScript('globalThis.__name = (fn) => fn;');
  const rows: Row[] = [];
  try {
    const big = join(files.path, 'bench-256.bin');
    await writeRandomFile(big, 256 * MiB);
    const demo = await openDemo(context, ours.url);
    const plainDemo = await openDemo(context, `${plain.url}/?digest=0`);
    const tusPage = await context.newPage();
    await tusPage.goto(tus.url);

    const times = { xhr: [] as number[], sw: [] as number[], plain: [] as number[], tus: [] as number[] };
    const stored: number[] = [];
    for (let round = 0; round < ROUNDS; round++) {
      await freshen(big, round);
      // The order turns every round: the disk's write-back of one upload must not always land on the same next one.
      const runs: [keyof typeof times, () => Promise<number>][] = [
        ['xhr', () => xhrUpload(demo, big, round)],
        ['sw', () => swUpload(demo, big, stored)],
        ['plain', () => swUpload(plainDemo, big)],
        ['tus', () => tusUpload(tusPage, big)],
      ];
      for (let i = 0; i < runs.length; i++) {
        const [name, run] = runs[(i + round) % runs.length]!;
        times[name].push(await run());
      }
      await demo.click('#clear-completed');
      await plainDemo.click('#clear-completed');
      await Promise.all([emptyDir(join(oursDir.path, 'complete')), emptyDir(join(plainDir.path, 'complete')), emptyDir(tusDir.path)]);
    }
    const [xhr, sw, tusMs] = [median(times.xhr), median(times.sw), median(times.tus)];
    const size = 256 * MiB;
    rows.push(
      { measure: '256 MiB, page XHR single POST (MiB/s)', value: mibps(size, xhr).toFixed(0) },
      { measure: '256 MiB, service worker (MiB/s, from pick to done)', value: mibps(size, sw).toFixed(0) },
      { measure: '  of which: pick → stored in IndexedDB (ms, median)', value: median(stored).toFixed(0) },
      { measure: '256 MiB, service worker without Content-Digest (MiB/s)', value: mibps(size, median(times.plain)).toFixed(0) },
      { measure: '256 MiB, tus-js-client → @tus/server (MiB/s)', value: mibps(size, tusMs).toFixed(0) },
      { measure: 'service worker / XHR', value: `${(xhr / sw).toFixed(2)}×`, target: '≥ 0.9×', verdict: verdict(xhr / sw >= 0.9) },
      { measure: 'service worker / tus', value: `${(tusMs / sw).toFixed(2)}×`, target: '≥ 1.0×', verdict: verdict(tusMs / sw >= 1.0) },
    );

    // Memory: the same path for 16 MiB and 1 GiB; growth must not follow the file size.
    const peaks: Record<string, { browser: number; server: number }> = {};
    for (const [label, size] of [['16 MiB', 16 * MiB], ['1 GiB', 1024 * MiB]] as const) {
      const path = join(files.path, `mem-${size}.bin`);
      await writeRandomFile(path, size);
      const browser = peakSampler(() => rssOfProcessesWith(profile.path));
      const server = peakSampler(() => rssOf(ours.process.pid!));
      await swUpload(demo, path);
      peaks[label] = { browser: browser.stop(), server: server.stop() };
      await rm(path);
      await emptyDir(join(oursDir.path, 'complete'));
    }
    const browserGrowth = (peaks['1 GiB']!.browser - peaks['16 MiB']!.browser) / MiB;
    const serverGrowth = (peaks['1 GiB']!.server - peaks['16 MiB']!.server) / MiB;
    rows.push(
      { measure: 'browser peak RSS, 16 MiB → 1 GiB (MiB)', value: `${(peaks['16 MiB']!.browser / MiB).toFixed(0)} → ${(peaks['1 GiB']!.browser / MiB).toFixed(0)}` },
      { measure: 'browser RSS growth (MiB)', value: browserGrowth.toFixed(0), target: '< 64', verdict: verdict(browserGrowth < 64) },
      { measure: 'server peak RSS, 16 MiB → 1 GiB (MiB)', value: `${(peaks['16 MiB']!.server / MiB).toFixed(0)} → ${(peaks['1 GiB']!.server / MiB).toFixed(0)}` },
      { measure: 'server RSS growth (MiB)', value: serverGrowth.toFixed(0), target: '< 64', verdict: verdict(serverGrowth < 64) },
    );

    printTable('Browser: throughput and memory', rows);
    rows.push(...(await resumeBench(context, ours.port, files.path)));
  } finally {
    await context.close();
    await Promise.all([ours.kill('SIGTERM'), plain.kill('SIGTERM'), tus.kill('SIGTERM')]);
    await Promise.all([files.remove(), profile.remove(), oursDir.remove(), plainDir.remove(), tusDir.remove()]);
  }
  printTable('Browser (headless Chromium, one run): all figures', rows);
  return rows;
}

/** Offline → online with the tab open, through a proxy (its own origin, so its own worker). */
async function resumeBench(context: Awaited<ReturnType<typeof launch>>, serverPort: number, dir: string): Promise<Row[]> {
  const proxy = await startFaultProxy({ targetPort: serverPort, port: await freePort() });
  // Slow enough that five offline/online rounds fit in one upload.
  proxy.setRate(16 * MiB);
  const path = join(dir, 'resume.bin');
  await writeRandomFile(path, 384 * MiB);
  const page = await openDemo(context, proxy.url);
  const latencies: number[] = [];
  const progressLatencies: number[] = [];
  try {
    await page.setInputFiles('#file', path);
    const offset = (): Promise<number> => page.evaluate(() => Number(document.querySelector('li[data-upload-id]')?.getAttribute('data-offset') ?? 0));
    for (let i = 0; i < 5; i++) {
      await page.waitForFunction(() => document.querySelector('li[data-state="uploading"]') !== null, undefined, { timeout: 60_000 });
      await context.setOffline(true);
      await page.waitForFunction(() => document.querySelector('li[data-state="waiting"]') !== null, undefined, { timeout: 60_000 });
      const bytes = proxy.stats().clientToServerBytes;
      const confirmed = await offset();
      const t0 = Date.now();
      await context.setOffline(false);
      while (proxy.stats().clientToServerBytes === bytes && Date.now() - t0 < 60_000) await new Promise((r) => setTimeout(r, 5));
      latencies.push(Date.now() - t0);
      while ((await offset()) === confirmed && Date.now() - t0 < 60_000) await new Promise((r) => setTimeout(r, 20));
      progressLatencies.push(Date.now() - t0);
    }
  } finally {
    await page.close();
    await proxy.close();
  }
  const first = median(latencies);
  return [
    { measure: 'back online → first byte sent (ms, median of 5)', value: first.toFixed(0), target: '≤ 1000', verdict: verdict(first <= 1000) },
    { measure: 'back online → next confirmed offset (ms, median)', value: median(progressLatencies).toFixed(0) },
  ];
}
