// Issue 10's goals, side by side in one Chromium run, medians of ROUNDS rounds in turning order:
// the worker with an open page (page-assisted) and alone, against a plain page XHR POST, one bare
// fetch POST of the stored Blob from a worker, and tus-js-client → @tus/server; 20 × 16 MiB at
// the same concurrency; integrity on and off; memory from 16 MiB to 1 GiB.
import { mkdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { CHROMIUM_FLAGS, chromiumPath } from '../lab/chromium.js';
import { peakSampler, rssOf, rssOfProcessesWith } from '../lab/processes.js';
import { REPO } from '../lab/demo.js';
import { emptyDir, freshen, writeRandomFile } from './bench-files.js';
import { bareUploadInPage, writeBareSite } from './bare-worker.js';
import { cpuByRole, cpuSpent, type CpuByRole } from './process-cpu.js';
import { startOurs, startTus } from './bench-servers.js';
import { MiB, median, mibps, printTable, roundSpread, verdict, type Row } from './table.js';

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);

async function benchInput(page: Page, paths: readonly string[]): Promise<void> {
  await page.evaluate(() => {
    if (document.querySelector('#bench')) return;
    const input = Object.assign(document.createElement('input'), { type: 'file', id: 'bench', multiple: true, hidden: true });
    document.body.append(input);
  });
  await page.setInputFiles('#bench', [...paths]);
}

/**
 * What the page must do at least for each upload to keep our promises, beside the XHR itself:
 * `copy` — store the file in IndexedDB (what survives a closed tab), one file after another as
 * the worker's adds are; `hash` — read and SHA-256 it in 8 MiB pieces (the file digest).
 */
interface Floor {
  readonly copy: boolean;
  readonly hash: boolean;
}

const XHR_ONLY: Floor = { copy: false, hash: false };

/**
 * Page XHR POSTs of every picked file, `concurrency` at a time, with what `floor` adds running
 * alongside; ms from start to the last of them.
 */
async function xhrUpload(page: Page, paths: readonly string[], concurrency: number, tag: string, floor: Floor = XHR_ONLY): Promise<number> {
  await benchInput(page, paths);
  return page.evaluate(
    async ({ concurrency, tag, floor }) => {
      const files = [...document.querySelector<HTMLInputElement>('#bench')!.files!];
      // Opened only where the copy is part of the run: the plain XHR baseline touches no storage.
      const db = !floor.copy
        ? undefined
        : await new Promise<IDBDatabase>((resolve, reject) => {
            const open = indexedDB.open('bench-floor', 1);
            open.onupgradeneeded = () => open.result.createObjectStore('files');
            open.onsuccess = () => resolve(open.result);
            open.onerror = () => reject(open.error);
          });
      const write = (db: IDBDatabase, fill: (store: IDBObjectStore) => void) =>
        new Promise<void>((resolve, reject) => {
          const tx = db.transaction('files', 'readwrite');
          fill(tx.objectStore('files'));
          tx.oncomplete = () => resolve();
          tx.onerror = () => reject(tx.error);
        });
      const piece = 8 * 1024 * 1024;
      const digest = async (file: File) => {
        for (let at = 0; at < file.size; at += piece) await crypto.subtle.digest('SHA-256', await file.slice(at, at + piece).arrayBuffer());
      };
      const post = (file: File, i: number) =>
        new Promise<void>((resolve, reject) => {
          const xhr = new XMLHttpRequest();
          xhr.open('POST', '/upload');
          xhr.setRequestHeader('X-File-Id', `${tag}-${i}`);
          xhr.setRequestHeader('X-Start-Byte', '0');
          xhr.onload = () => (xhr.status === 200 ? resolve() : reject(new Error(`XHR ${xhr.status}`)));
          xhr.onerror = () => reject(new Error('XHR failed'));
          xhr.send(file);
        });
      const t0 = performance.now();
      let next = 0;
      await Promise.all([
        ...Array.from({ length: concurrency }, async () => {
          while (next < files.length) {
            const i = next++;
            await post(files[i]!, i);
          }
        }),
        (async () => {
          if (db !== undefined) for (const [i, file] of files.entries()) await write(db, (store) => store.put(file, `${tag}-${i}`));
        })(),
        (async () => {
          if (floor.hash) for (const file of files) await digest(file);
        })(),
      ]);
      const ms = performance.now() - t0;
      if (db !== undefined) {
        await write(db, (store) => store.clear());
        db.close();
      }
      return ms;
    },
    { concurrency, tag, floor },
  );
}

/**
 * The file digest's two costs on an idle machine, in the page: reading the picked file in 8 MiB
 * pieces (what any digest must do: the bytes go from disk to the browser process
 * to JavaScript), and SHA-256 of as many in-memory pieces. ms each.
 */
async function digestParts(page: Page, path: string): Promise<{ readMs: number; hashMs: number }> {
  await benchInput(page, [path]);
  return page.evaluate(async () => {
    const file = document.querySelector<HTMLInputElement>('#bench')!.files![0]!;
    const piece = 8 * 1024 * 1024;
    const buffer = new Uint8Array(piece);
    let t0 = performance.now();
    for (let at = 0; at < file.size; at += piece) await file.slice(at, at + piece).arrayBuffer();
    const readMs = performance.now() - t0;
    t0 = performance.now();
    for (let at = 0; at < file.size; at += piece) await crypto.subtle.digest('SHA-256', buffer.subarray(0, Math.min(piece, file.size - at)));
    return { readMs, hashMs: performance.now() - t0 };
  });
}

/**
 * Through the demo: from picking the files (the input's `change`) to every row done, timed in the
 * page like the XHR and tus paths, so Playwright's round trips are not counted against it.
 */
async function demoUpload(page: Page, paths: readonly string[]): Promise<number> {
  const before = await page.locator('li[data-state="done"]').count();
  const timed = page.evaluate(
    (n) =>
      new Promise<number>((resolve) => {
        let t0: number | undefined;
        document.getElementById('file')!.addEventListener('change', () => (t0 = performance.now()), { capture: true, once: true });
        const observer = new MutationObserver(() => {
          if (t0 === undefined || document.querySelectorAll('li[data-state="done"]').length < n) return;
          observer.disconnect();
          resolve(performance.now() - t0);
        });
        observer.observe(document.getElementById('uploads')!, { subtree: true, childList: true, attributes: true, attributeFilter: ['data-state'] });
      }),
    before + paths.length,
  );
  await page.setInputFiles('#file', [...paths]);
  const ms = await timed;
  await page.click('#clear-completed');
  return ms;
}

/** Starts counting the changes of a row's bytes sent (data-sent) the page shows, with their times. */
async function watchSent(page: Page): Promise<void> {
  await page.evaluate(() => {
    const seen: number[] = [];
    (globalThis as unknown as { sentTimes: number[] }).sentTimes = seen;
    let last = '';
    new MutationObserver(() => {
      const value = document.querySelector<HTMLElement>('li[data-upload-id]')?.dataset.sent ?? '';
      if (value !== '' && value !== last) seen.push(performance.now());
      last = value;
    }).observe(document.getElementById('uploads')!, { subtree: true, attributes: true, attributeFilter: ['data-sent'], childList: true });
  });
}

/** Progress updates a second the page showed since watchSent(). */
async function sentRate(page: Page): Promise<number> {
  const times = await page.evaluate(() => (globalThis as unknown as { sentTimes: number[] }).sentTimes);
  if (times.length < 2) return 0;
  return (times.length - 1) / ((times.at(-1)! - times[0]!) / 1000);
}

async function tusUpload(page: Page, path: string): Promise<number> {
  await benchInput(page, [path]);
  return page.evaluate(
    () =>
      new Promise<number>((resolve, reject) => {
        const file = document.querySelector<HTMLInputElement>('#bench')!.files![0]!;
        const t0 = performance.now();
        const tus = (globalThis as unknown as { tus: { Upload: new (f: File, o: object) => { start(): void } } }).tus;
        new tus.Upload(file, { endpoint: '/files', metadata: { filename: file.name }, retryDelays: [], onSuccess: () => resolve(performance.now() - t0), onError: (e: Error) => reject(e) }).start();
      }),
  );
}

async function bareWorkerUpload(page: Page, path: string, tag: string, hash: boolean, picked = false): Promise<number> {
  await benchInput(page, [path]);
  return page.evaluate(bareUploadInPage, { tag, hash, picked });
}

async function openDemo(context: BrowserContext, url: string): Promise<Page> {
  const page = await context.newPage();
  await page.goto(url);
  await page.waitForSelector('body[data-ready="true"]', { timeout: 60_000 });
  return page;
}

export async function runSpeedBench(): Promise<Row[]> {
  const work = join(REPO, '.tmp', `speed-${Date.now()}`);
  const dirs = { files: join(work, 'files'), profile: join(work, 'profile'), ours: join(work, 'ours'), plain: join(work, 'plain'), alone: join(work, 'alone'), alonePlain: join(work, 'alone-plain'), bare: join(work, 'bare'), bareStatic: join(work, 'bare-static'), tus: join(work, 'tus') };
  for (const dir of Object.values(dirs)) await mkdir(dir, { recursive: true });
  await writeBareSite(dirs.bareStatic);
  // Each path on its own origin, so each has its own worker registration and settings.
  const ours = await startOurs(dirs.ours);
  const plain = await startOurs(dirs.plain);
  const alone = await startOurs(dirs.alone);
  const alonePlain = await startOurs(dirs.alonePlain);
  const bare = await startOurs(dirs.bare, dirs.bareStatic);
  const tus = await startTus(dirs.tus);
  const context = await chromium.launchPersistentContext(dirs.profile, { executablePath: chromiumPath(), headless: true, args: CHROMIUM_FLAGS });
  await context.addInitScript('globalThis.__name = (fn) => fn;');
  const rows: Row[] = [];
  try {
    const big = join(dirs.files, 'speed-256.bin');
    await writeRandomFile(big, 256 * MiB);
    const smalls: string[] = [];
    for (let i = 0; i < 20; i++) {
      smalls.push(join(dirs.files, `small-${i}.bin`));
      await writeRandomFile(smalls[i]!, 16 * MiB);
    }
    const assisted = await openDemo(context, ours.url);
    const assistedPlain = await openDemo(context, `${plain.url}/?digest=0`);
    const workerAlone = await openDemo(context, `${alone.url}/?assist=0`);
    const workerAlonePlain = await openDemo(context, `${alonePlain.url}/?assist=0&digest=0`);
    const barePage = await context.newPage();
    await barePage.goto(bare.url);
    const tusPage = await context.newPage();
    await tusPage.goto(tus.url);
    const t = { xhr: [] as number[], floorCopy: [] as number[], floorHash: [] as number[], assisted: [] as number[], assistedPlain: [] as number[], alone: [] as number[], alonePlain: [] as number[], bare: [] as number[], barePicked: [] as number[], bareHash: [] as number[], tus: [] as number[], digestRead: [] as number[], digestHash: [] as number[] };
    const progressRates: number[] = [];
    for (let round = 0; round < ROUNDS; round++) {
      await freshen([big], round);
      const runs: [keyof typeof t, () => Promise<number>][] = [
        ['xhr', () => xhrUpload(assisted, [big], 1, `xhr-${round}-${Date.now()}`)],
        ['floorCopy', () => xhrUpload(assisted, [big], 1, `floor-${round}-${Date.now()}`, { copy: true, hash: false })],
        ['floorHash', () => xhrUpload(assisted, [big], 1, `floorh-${round}-${Date.now()}`, { copy: true, hash: true })],
        [
          'assisted',
          async () => {
            await watchSent(assisted);
            const ms = await demoUpload(assisted, [big]);
            progressRates.push(await sentRate(assisted));
            return ms;
          },
        ],
        ['assistedPlain', () => demoUpload(assistedPlain, [big])],
        ['alone', () => demoUpload(workerAlone, [big])],
        ['alonePlain', () => demoUpload(workerAlonePlain, [big])],
        ['bare', () => bareWorkerUpload(barePage, big, `bare-${round}-${Date.now()}`, false)],
        ['bareHash', () => bareWorkerUpload(barePage, big, `bareh-${round}-${Date.now()}`, true)],
        ['barePicked', () => bareWorkerUpload(barePage, big, `barep-${round}-${Date.now()}`, false, true)],
        ['tus', () => tusUpload(tusPage, big)],
      ];
      for (let i = 0; i < runs.length; i++) {
        const [name, run] = runs[(i + round) % runs.length]!;
        t[name].push(await run());
      }
      const parts = await digestParts(assisted, big);
      t.digestRead.push(parts.readMs);
      t.digestHash.push(parts.hashMs);
      await Promise.all(['ours', 'plain', 'alone', 'alonePlain', 'bare'].map((k) => emptyDir(join(dirs[k as 'ours'], 'complete'))).concat(emptyDir(dirs.tus)));
    }
    const size = 256 * MiB;
    const m = Object.fromEntries(Object.entries(t).map(([k, v]) => [k, median(v)])) as Record<keyof typeof t, number>;
    rows.push(
      { measure: '256 MiB, page XHR single POST (MiB/s)', value: mibps(size, m.xhr).toFixed(0) },
      { measure: '256 MiB, page XHR + the page storing the file in IndexedDB meanwhile (MiB/s)', value: mibps(size, m.floorCopy).toFixed(0) },
      { measure: '256 MiB, page XHR + storing + SHA-256 of the file meanwhile (MiB/s)', value: mibps(size, m.floorHash).toFixed(0) },
      { measure: '256 MiB, page open: worker + page-assisted XHR, digests on (MiB/s, pick → done)', value: mibps(size, m.assisted).toFixed(0) },
      { measure: '256 MiB, page open, digests off (MiB/s)', value: mibps(size, m.assistedPlain).toFixed(0) },
      { measure: '256 MiB, worker alone, digests on (MiB/s)', value: mibps(size, m.alone).toFixed(0) },
      { measure: '256 MiB, worker alone, digests off (MiB/s)', value: mibps(size, m.alonePlain).toFixed(0) },
      { measure: '256 MiB, bare worker: IndexedDB + one fetch POST of the Blob (MiB/s)', value: mibps(size, m.bare).toFixed(0) },
      { measure: '256 MiB, bare worker + SHA-256 of the stored Blob meanwhile (MiB/s)', value: mibps(size, m.bareHash).toFixed(0) },
      { measure: '256 MiB, bare worker: one fetch POST of the picked File, storing it beside (MiB/s)', value: mibps(size, m.barePicked).toFixed(0) },
      { measure: '256 MiB, tus-js-client → @tus/server (MiB/s)', value: mibps(size, m.tus).toFixed(0) },
      { measure: 'page open: progress updates a second (bytes sent)', value: median(progressRates).toFixed(1), target: '≥ 4', verdict: verdict(median(progressRates) >= 4) },
      { measure: 'page open / page XHR', value: `${(m.xhr / m.assisted).toFixed(2)}×; ${roundSpread(t.xhr, t.assisted)}`, target: '≥ 0.9×', verdict: verdict(m.xhr / m.assisted >= 0.9) },
      { measure: 'page open, digests off / page XHR', value: `${(m.xhr / m.assistedPlain).toFixed(2)}×; ${roundSpread(t.xhr, t.assistedPlain)}`, target: '≥ 0.9×', verdict: verdict(m.xhr / m.assistedPlain >= 0.9) },
      { measure: 'page open, digests off / page XHR + storing (the floor of "nothing lost")', value: `${(m.floorCopy / m.assistedPlain).toFixed(2)}×; ${roundSpread(t.floorCopy, t.assistedPlain)}`, target: '≥ 0.9×', verdict: verdict(m.floorCopy / m.assistedPlain >= 0.9) },
      { measure: 'page open, digests on / page XHR + storing + hashing', value: `${(m.floorHash / m.assisted).toFixed(2)}×; ${roundSpread(t.floorHash, t.assisted)}`, target: '≥ 0.9×', verdict: verdict(m.floorHash / m.assisted >= 0.9) },
      { measure: 'page open / tus', value: `${(m.tus / m.assisted).toFixed(2)}×; ${roundSpread(t.tus, t.assisted)}`, target: '≥ 1.1×', verdict: verdict(m.tus / m.assisted >= 1.1) },
      // Page open carries the file in one page XHR: it cannot beat that XHR to the same server.
      { measure: 'page XHR to our server / tus: the most page open / tus can be', value: `${(m.tus / m.xhr).toFixed(2)}×; ${roundSpread(t.tus, t.xhr)}` },
      { measure: 'worker alone / bare worker fetch', value: `${(m.bare / m.alone).toFixed(2)}×; ${roundSpread(t.bare, t.alone)}`, target: '≥ 0.9×', verdict: verdict(m.bare / m.alone >= 0.9) },
      { measure: 'worker alone, digests off / bare worker fetch', value: `${(m.bare / m.alonePlain).toFixed(2)}×; ${roundSpread(t.bare, t.alonePlain)}`, target: '≥ 0.9×', verdict: verdict(m.bare / m.alonePlain >= 0.9) },
      { measure: 'worker alone, digests off / bare worker sending the picked File (the same body)', value: `${(m.barePicked / m.alonePlain).toFixed(2)}×; ${roundSpread(t.barePicked, t.alonePlain)}` },
      { measure: 'bare worker: the picked File beside the store / the stored Blob after it', value: `${(m.bare / m.barePicked).toFixed(2)}×; ${roundSpread(t.bare, t.barePicked)}` },
      { measure: 'worker alone, digests on / bare worker fetch + hashing', value: `${(m.bareHash / m.alone).toFixed(2)}×; ${roundSpread(t.bareHash, t.alone)}`, target: '≥ 0.9×', verdict: verdict(m.bareHash / m.alone >= 0.9) },
      { measure: 'integrity cost, page open (digests on vs off)', value: `${((1 - m.assistedPlain / m.assisted) * 100).toFixed(0)} %`, target: '≤ 10 %', verdict: verdict(1 - m.assistedPlain / m.assisted <= 0.1) },
      { measure: 'file digest, alone: reading the file into the page, 8 MiB pieces (MiB/s)', value: mibps(size, m.digestRead).toFixed(0) },
      { measure: 'file digest, alone: SHA-256 of 8 MiB pieces in memory (MiB/s)', value: mibps(size, m.digestHash).toFixed(0) },
      { measure: 'file digest, alone: reading + hashing / page XHR time (one core)', value: `${(((m.digestRead + m.digestHash) / m.xhr) * 100).toFixed(0)} %` },
    );
    printTable('Speed (issue 10), one run', rows);

    // 20 × 16 MiB at the demo's concurrency (3).
    const many = { xhr: [] as number[], floor: [] as number[], demo: [] as number[] };
    // What each path costs the machine: CPU of the server and of each kind of Chromium process.
    const cpu = { xhr: [] as CpuByRole[], floor: [] as CpuByRole[], demo: [] as CpuByRole[] };
    const cpuNow = (): CpuByRole => cpuByRole(plain.process.pid!, dirs.profile);
    for (let round = 0; round < ROUNDS; round++) {
      await freshen(smalls, 200 + round);
      const order: [keyof typeof many, () => Promise<number>][] = [
        ['xhr', () => xhrUpload(assistedPlain, smalls, 3, `many-${round}-${Date.now()}`)],
        ['floor', () => xhrUpload(assistedPlain, smalls, 3, `manyf-${round}-${Date.now()}`, { copy: true, hash: false })],
        ['demo', () => demoUpload(assistedPlain, smalls)],
      ];
      for (let i = 0; i < order.length; i++) {
        const [name, run] = order[(i + round) % order.length]!;
        const before = cpuNow();
        many[name].push(await run());
        cpu[name].push(cpuSpent(before, cpuNow()));
      }
      await emptyDir(join(dirs.plain, 'complete'));
    }
    const total = 20 * 16 * MiB;
    const ratio = median(many.xhr) / median(many.demo);
    const floorRatio = median(many.floor) / median(many.demo);
    const manyRows: Row[] = [
      { measure: '20 × 16 MiB, page XHR, 3 at a time (MiB/s)', value: mibps(total, median(many.xhr)).toFixed(0) },
      { measure: '20 × 16 MiB, page XHR + storing each file in IndexedDB meanwhile (MiB/s)', value: mibps(total, median(many.floor)).toFixed(0) },
      { measure: '20 × 16 MiB, page open, digests off (MiB/s)', value: mibps(total, median(many.demo)).toFixed(0) },
      { measure: '20 × 16 MiB: page open / page XHR', value: `${ratio.toFixed(2)}×; ${roundSpread(many.xhr, many.demo)}`, target: '≥ 0.9×', verdict: verdict(ratio >= 0.9) },
      { measure: '20 × 16 MiB: page open / page XHR + storing', value: `${floorRatio.toFixed(2)}×; ${roundSpread(many.floor, many.demo)}`, target: '≥ 0.9×', verdict: verdict(floorRatio >= 0.9) },
    ];
    printTable('Many files', manyRows);
    rows.push(...manyRows);
    printTable('CPU per 20 × 16 MiB batch, by process (s, median of rounds; Linux /proc)', cpuRows(cpu));

    // Memory: page open, 16 MiB vs 1 GiB.
    const peaks: Record<string, { browser: number; server: number }> = {};
    for (const [label, bytes] of [['16 MiB', 16 * MiB], ['1 GiB', 1024 * MiB]] as const) {
      const path = join(dirs.files, `mem-${bytes}.bin`);
      await writeRandomFile(path, bytes);
      const browser = peakSampler(() => rssOfProcessesWith(dirs.profile));
      const server = peakSampler(() => rssOf(plain.process.pid!));
      await demoUpload(assistedPlain, [path]);
      peaks[label] = { browser: browser.stop(), server: server.stop() };
      await rm(path);
      await emptyDir(join(dirs.plain, 'complete'));
    }
    const grow = (k: 'browser' | 'server') => (peaks['1 GiB']![k] - peaks['16 MiB']![k]) / MiB;
    const memRows: Row[] = [
      { measure: 'browser RSS growth, 16 MiB → 1 GiB, page open (MiB)', value: grow('browser').toFixed(0), target: '< 64', verdict: verdict(grow('browser') < 64) },
      { measure: 'server RSS growth, 16 MiB → 1 GiB (MiB)', value: grow('server').toFixed(0), target: '< 64', verdict: verdict(grow('server') < 64) },
    ];
    printTable('Memory', memRows);
    rows.push(...memRows);
  } finally {
    await context.close();
    await Promise.all([ours, plain, alone, alonePlain, bare, tus].map((p) => p.kill('SIGTERM')));
    await rm(work, { recursive: true, force: true });
  }
  printTable('Speed (issue 10): all figures', rows);
  return rows;
}

/** One row per process kind: its CPU seconds on each path. */
function cpuRows(cpu: Record<'xhr' | 'floor' | 'demo', CpuByRole[]>): Row[] {
  const spent = (role: string): number => Object.values(cpu).reduce((sum, samples) => sum + samples.reduce((s, sample) => s + (sample.get(role) ?? 0), 0), 0);
  // Roles that spent nothing (an idle zygote) are left out.
  const roles = [...new Set(Object.values(cpu).flatMap((samples) => samples.flatMap((sample) => [...sample.keys()])))].filter((role) => spent(role) > 0).sort();
  const seconds = (samples: CpuByRole[], role: string): string => (median(samples.map((sample) => sample.get(role) ?? 0)) / 1000).toFixed(2);
  return roles.map((role) => ({
    measure: role,
    value: `page XHR ${seconds(cpu.xhr, role)} · XHR + storing ${seconds(cpu.floor, role)} · page open ${seconds(cpu.demo, role)}`,
  }));
}
