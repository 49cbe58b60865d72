// Side by side in one run, in each engine (Chromium, Firefox ESR, WebKitGTK; BENCH_ENGINES picks
// some): the service worker vs that engine's own page XHR POST of the same file to the same
// server, the worker without Content-Digest, tus-js-client against @tus/server, and a bare worker
// sending the stored copy or the picked File (which body is faster for a worker's fetch). Chromium
// adds memory for 16 MiB vs 1 GiB and the offline → online resume latency (devtools offline).
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { selectedEngines, type BrowserSession, type Engine, type Tab } from '../lab/engines/index.js';
import { assertDemoBuilt, openDemo, tempDir } from '../lab/demo.js';
import { freePort, peakSampler, rssOf, rssOfProcessesWith, type Listening } from '../lab/processes.js';
import { startFaultProxy } from '../lab/fault-proxy.js';
import { bareUploadInPage, writeBareSite, type BareRun } from './bare-worker.js';
import { emptyDir, freshen, writeRandomFile } from './bench-files.js';
import { startOurs, startTus } from './bench-servers.js';
import { MiB, median, mibps, printTable, verdict, type Row } from './table.js';

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 4);
const SIZE = 256 * MiB;

/** A hidden file input the benchmark picks into, so the page's own uploader does not see the file. */
export async function pickIntoBenchInput(tab: Tab, path: string): Promise<void> {
  await tab.evaluate(() => {
    if (document.querySelector('#bench')) return;
    const input = document.createElement('input');
    input.type = 'file';
    input.id = 'bench';
    document.body.append(input);
  }, null);
  await tab.pick('#bench', [path]);
}

/** One XMLHttpRequest POST of the picked file, timed in the page. */
export async function xhrUpload(tab: Tab, path: string, id: string): Promise<number> {
  await pickIntoBenchInput(tab, path);
  return tab.evaluate(
    (fileId) =>
      new Promise<number>((resolve, reject) => {
        const file = document.querySelector<HTMLInputElement>('#bench')!.files![0]!;
        const xhr = new XMLHttpRequest();
        const t0 = performance.now();
        xhr.open('POST', '/upload');
        xhr.setRequestHeader('X-File-Id', fileId);
        xhr.setRequestHeader('X-Start-Byte', '0');
        xhr.onload = () => (xhr.status === 200 ? resolve(performance.now() - t0) : reject(new Error(`XHR ${xhr.status}`)));
        xhr.onerror = () => reject(new Error('XHR failed'));
        xhr.send(file);
      }),
    id,
  );
}

/** Time from the pick (the input's change event, in the page) to done; `storedMs` until its row showed (stored in IndexedDB). */
export async function swUpload(tab: Tab, path: string): Promise<{ ms: number; storedMs: number }> {
  await tab.evaluate(() => {
    const bench = { t0: 0, rows: document.querySelectorAll('li[data-upload-id]').length, done: document.querySelectorAll('li[data-state="done"]').length };
    (globalThis as { __bench?: typeof bench }).__bench = bench;
    document.querySelector('#file')!.addEventListener('change', () => (bench.t0 = performance.now()), { once: true, capture: true });
  }, null);
  await tab.pick('#file', [path]);
  return tab.evaluate(
    () =>
      new Promise<{ ms: number; storedMs: number }>((resolve) => {
        const bench = (globalThis as { __bench?: { t0: number; rows: number; done: number } }).__bench!;
        let storedMs = -1;
        const poll = (): void => {
          const now = performance.now();
          if (storedMs < 0 && bench.t0 > 0 && document.querySelectorAll('li[data-upload-id]').length > bench.rows) storedMs = now - bench.t0;
          if (document.querySelectorAll('li[data-state="done"]').length > bench.done) resolve({ ms: now - bench.t0, storedMs });
          else setTimeout(poll, 10);
        };
        poll();
      }),
    null,
  );
}

/** The bare worker (bare-worker.ts) on the file, timed in the worker. */
async function bareUpload(tab: Tab, path: string, run: BareRun): Promise<number> {
  await pickIntoBenchInput(tab, path);
  return tab.evaluate(bareUploadInPage, run);
}

async function tusUpload(tab: Tab, path: string): Promise<number> {
  await tab.pick('#bench', [path]);
  return tab.evaluate(
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
    null,
  );
}

interface Servers {
  readonly ours: Listening;
  readonly oursDir: string;
  /** A second origin (its own worker registration) whose worker sends no Content-Digest. */
  readonly plain: Listening;
  readonly plainDir: string;
  readonly tus: Listening;
  readonly tusDir: string;
  /** The bare worker's origin (bare-worker.ts). */
  readonly bare: Listening;
  readonly bareDir: string;
}

async function throughput(engine: Engine, session: BrowserSession, servers: Servers, big: string): Promise<Row[]> {
  const demo = await openDemo(session, servers.ours.url);
  const plainDemo = await openDemo(session, `${servers.plain.url}/?digest=0`);
  const tusPage = await session.open(servers.tus.url);
  const barePage = await session.open(servers.bare.url);
  const times = { xhr: [] as number[], sw: [] as number[], plain: [] as number[], tus: [] as number[], bare: [] as number[], barePicked: [] as number[] };
  const stored: number[] = [];
  for (let round = 0; round < ROUNDS; round++) {
    await freshen([big], round);
    // The order turns every round: the disk's write-back of one upload must not always land on the same next one.
    const runs: [keyof typeof times, () => Promise<number>][] = [
      ['xhr', () => xhrUpload(demo, big, `bench-xhr-${engine.name}-${round}-${Date.now()}`)],
      ['sw', async () => {
        const { ms, storedMs } = await swUpload(demo, big);
        stored.push(storedMs);
        return ms;
      }],
      ['plain', async () => (await swUpload(plainDemo, big)).ms],
      ['tus', () => tusUpload(tusPage, big)],
      ['bare', () => bareUpload(barePage, big, { tag: `bare-${round}-${Date.now()}`, hash: false, picked: false })],
      ['barePicked', () => bareUpload(barePage, big, { tag: `barep-${round}-${Date.now()}`, hash: false, picked: true })],
    ];
    for (let i = 0; i < runs.length; i++) {
      const [name, run] = runs[(i + round) % runs.length]!;
      // On stderr, so a run that hangs (the driver's own timeout ends it) shows which path it was.
      process.stderr.write(`${engine.name} round ${round + 1}/${ROUNDS}: ${name}\n`);
      try {
        times[name].push(await run());
      } catch (error) {
        throw new Error(`${engine.name}, round ${round + 1}: the ${name} path failed`, { cause: error });
      }
    }
    await demo.click('#clear-completed');
    await plainDemo.click('#clear-completed');
    await Promise.all([emptyDir(join(servers.oursDir, 'complete')), emptyDir(join(servers.plainDir, 'complete')), emptyDir(join(servers.bareDir, 'complete')), emptyDir(servers.tusDir)]);
  }
  await Promise.all([demo.close(), plainDemo.close(), tusPage.close(), barePage.close()]);
  const [xhr, sw, tus] = [median(times.xhr), median(times.sw), median(times.tus)];
  const e = session.version;
  const range = (ms: number[]): string => `${mibps(SIZE, Math.max(...ms)).toFixed(0)}–${mibps(SIZE, Math.min(...ms)).toFixed(0)}`;
  return [
    { measure: `${e}: page XHR single POST (MiB/s, median; range)`, value: `${mibps(SIZE, xhr).toFixed(0)} (${range(times.xhr)})` },
    { measure: `${e}: service worker, pick to done (MiB/s)`, value: `${mibps(SIZE, sw).toFixed(0)} (${range(times.sw)})` },
    { measure: `${e}:   of which pick → stored in IndexedDB (ms)`, value: median(stored).toFixed(0) },
    { measure: `${e}: service worker without Content-Digest (MiB/s)`, value: `${mibps(SIZE, median(times.plain)).toFixed(0)} (${range(times.plain)})` },
    { measure: `${e}: tus-js-client → @tus/server (MiB/s)`, value: `${mibps(SIZE, tus).toFixed(0)} (${range(times.tus)})` },
    { measure: `${e}: bare worker, the stored copy after its store / the picked File beside it (MiB/s)`, value: `${mibps(SIZE, median(times.bare)).toFixed(0)} / ${mibps(SIZE, median(times.barePicked)).toFixed(0)}` },
    { measure: `${e}: bare worker, the picked File / the stored copy (which body a worker's fetch sends faster)`, value: `${(median(times.bare) / median(times.barePicked)).toFixed(2)}×` },
    { measure: `${e}: service worker / XHR`, value: `${(xhr / sw).toFixed(2)}×`, target: '≥ 0.9×', verdict: verdict(xhr / sw >= 0.9) },
    { measure: `${e}: service worker / tus`, value: `${(tus / sw).toFixed(2)}×`, target: '≥ 1.0×', verdict: verdict(tus / sw >= 1.0) },
  ];
}

/** Memory for the same path with 16 MiB and 1 GiB: growth must not follow the file size (Chromium: its processes carry the profile path). */
async function memory(session: BrowserSession, servers: Servers, profile: string, dir: string): Promise<Row[]> {
  const demo = await openDemo(session, servers.ours.url);
  const peaks: Record<string, { browser: number; server: number }> = {};
  for (const [label, size] of [['16 MiB', 16 * MiB], ['1 GiB', 1024 * MiB]] as const) {
    const path = join(dir, `mem-${size}.bin`);
    await writeRandomFile(path, size);
    const browser = peakSampler(() => rssOfProcessesWith(profile));
    const server = peakSampler(() => rssOf(servers.ours.process.pid!));
    await swUpload(demo, path);
    peaks[label] = { browser: browser.stop(), server: server.stop() };
    await rm(path);
    await emptyDir(join(servers.oursDir, 'complete'));
  }
  await demo.close();
  const browserGrowth = (peaks['1 GiB']!.browser - peaks['16 MiB']!.browser) / MiB;
  const serverGrowth = (peaks['1 GiB']!.server - peaks['16 MiB']!.server) / MiB;
  const e = session.version;
  return [
    { measure: `${e}: browser peak RSS, 16 MiB → 1 GiB (MiB)`, value: `${(peaks['16 MiB']!.browser / MiB).toFixed(0)} → ${(peaks['1 GiB']!.browser / MiB).toFixed(0)}` },
    { measure: `${e}: browser RSS growth (MiB)`, value: browserGrowth.toFixed(0), target: '< 64', verdict: verdict(browserGrowth < 64) },
    { measure: 'server peak RSS, 16 MiB → 1 GiB (MiB)', value: `${(peaks['16 MiB']!.server / MiB).toFixed(0)} → ${(peaks['1 GiB']!.server / MiB).toFixed(0)}` },
    { measure: 'server RSS growth (MiB)', value: serverGrowth.toFixed(0), target: '< 64', verdict: verdict(serverGrowth < 64) },
  ];
}

/** Devtools offline → online with the tab open, through a proxy (its own origin, so its own worker). */
async function resume(session: BrowserSession, serverPort: number, dir: string): Promise<Row[]> {
  const proxy = await startFaultProxy({ targetPort: serverPort, port: await freePort() });
  // Slow enough that five offline/online rounds fit in one upload.
  proxy.setRate(16 * MiB);
  const path = join(dir, 'resume.bin');
  await writeRandomFile(path, 384 * MiB);
  const page = await openDemo(session, proxy.url);
  const latencies: number[] = [];
  const progressLatencies: number[] = [];
  const firstRow = (state?: string): Promise<{ state: string; offset: number } | null> =>
    page.evaluate((s) => {
      const li = document.querySelector<HTMLLIElement>(s ? `li[data-state="${s}"]` : 'li[data-upload-id]');
      return li ? { state: li.dataset.state ?? '', offset: Number(li.dataset.offset ?? 0) } : null;
    }, state ?? '');
  const waitFor = async (state: string): Promise<void> => {
    const deadline = Date.now() + 60_000;
    while ((await firstRow(state)) === null) {
      if (Date.now() > deadline) throw new Error(`no row ${state} within 60 s`);
      await new Promise((r) => setTimeout(r, 10));
    }
  };
  try {
    await page.pick('#file', [path]);
    for (let i = 0; i < 5; i++) {
      await waitFor('uploading');
      await session.setOffline(true);
      await waitFor('waiting');
      const bytes = proxy.stats().clientToServerBytes;
      const confirmed = (await firstRow())?.offset;
      const t0 = Date.now();
      await session.setOffline(false);
      while (proxy.stats().clientToServerBytes === bytes && Date.now() - t0 < 60_000) await new Promise((r) => setTimeout(r, 5));
      latencies.push(Date.now() - t0);
      while ((await firstRow())?.offset === confirmed && Date.now() - t0 < 60_000) await new Promise((r) => setTimeout(r, 20));
      progressLatencies.push(Date.now() - t0);
    }
  } finally {
    await page.close();
    await proxy.close();
  }
  const first = median(latencies);
  return [
    { measure: `${session.version}: back online → first byte sent (ms, median of 5)`, value: first.toFixed(0), target: '≤ 1000', verdict: verdict(first <= 1000) },
    { measure: `${session.version}: back online → next confirmed offset (ms, median)`, value: median(progressLatencies).toFixed(0) },
  ];
}

export async function runBrowserBench(): Promise<Row[]> {
  assertDemoBuilt();
  const engines = selectedEngines(process.env.BENCH_ENGINES ?? process.env.BROWSER_ENGINES);
  for (const engine of engines) engine.assertInstalled();
  const files = await tempDir('bench-files');
  const dirs = await Promise.all(['ours', 'plain', 'tus', 'bare', 'bare-site'].map((n) => tempDir(`bench-${n}`)));
  const [oursDir, plainDir, tusDir, bareDir, bareSite] = dirs as [(typeof dirs)[0], (typeof dirs)[0], (typeof dirs)[0], (typeof dirs)[0], (typeof dirs)[0]];
  await writeBareSite(bareSite.path);
  const servers: Servers = {
    ours: await startOurs(oursDir.path),
    oursDir: oursDir.path,
    plain: await startOurs(plainDir.path),
    plainDir: plainDir.path,
    tus: await startTus(tusDir.path),
    tusDir: tusDir.path,
    bare: await startOurs(bareDir.path, bareSite.path),
    bareDir: bareDir.path,
  };
  const rows: Row[] = [];
  try {
    const big = join(files.path, 'bench-256.bin');
    await writeRandomFile(big, SIZE);
    // One browser at a time, each on a fresh profile.
    for (const engine of engines) {
      const profile = await tempDir(`bench-profile-${engine.name}`);
      const session = await engine.launch(profile.path);
      try {
        const mine = await throughput(engine, session, servers, big);
        if (engine.name === 'chromium') mine.push(...(await memory(session, servers, profile.path, files.path)));
        if (engine.missing.networkEmulation === undefined) mine.push(...(await resume(session, servers.ours.port, files.path)));
        printTable(`Browser: ${session.version}`, mine);
        rows.push(...mine);
      } finally {
        await session.close();
        await profile.remove();
      }
    }
  } finally {
    await Promise.all([servers.ours.kill('SIGTERM'), servers.plain.kill('SIGTERM'), servers.tus.kill('SIGTERM'), servers.bare.kill('SIGTERM')]);
    await Promise.all([files.remove(), ...dirs.map((d) => d.remove())]);
  }
  printTable(`Browsers (${engines.map((e) => e.name).join(', ')}), one run: all figures`, rows);
  return rows;
}
