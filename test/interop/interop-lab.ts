// One browser, the demo served by our server, and the upload server behind a fault proxy: our
// own (child process: it can be SIGKILLed) or @tus/server with @tus/file-store (bench/tus-server.ts,
// also a child process). The proxy's port stays across restarts, so the worker's endpoint does.
import { existsSync } from 'node:fs';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { randomBytes } from 'node:crypto';
import { sha256 } from '../helpers/hash.js';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type { BrowserContext, Page } from 'playwright-core';
import { startFaultProxy, type FaultProxy } from '../../lab/fault-proxy.js';
import { freePort, spawnListening, type Listening } from '../../lab/processes.js';
import { until } from '../../lab/poll.js';
import { launchChromium } from './chromium.js';

export const REPO = resolve(import.meta.dirname, '../..');
export const DEMO_DIR = join(REPO, 'dist/demo');
const CLI = join(REPO, 'dist/lib/server/cli.js');
const TUS_SERVER = join(REPO, 'bench/tus-server.ts');

export type UploadServerKind = 'ours' | 'tus-server';

export interface InteropLab {
  /** The upload server, behind the proxy. */
  readonly proxy: FaultProxy;
  /** Where the demo page is loaded from (our server; for 'ours' through the same proxy). */
  readonly pageOrigin: string;
  /** Where the upload server keeps files. */
  readonly dataDir: string;
  readonly filesDir: string;
  context: BrowserContext;
  open(query: string): Promise<Page>;
  relaunch(): Promise<void>;
  /** SIGKILL the upload server and start it again on the same port and data. */
  killAndRestart(whileDown?: () => Promise<void>): Promise<void>;
  close(): Promise<void>;
}

async function temp(prefix: string): Promise<string> {
  return mkdtemp(join(tmpdir(), `ru-interop-${prefix}-`));
}

export async function openInteropLab(kind: UploadServerKind): Promise<InteropLab> {
  if (!existsSync(join(DEMO_DIR, 'resilient-upload-sw.js')) || !existsSync(CLI)) throw new Error(`The demo and server are not built: run 'npm run build' (npm test does it first).`);
  const [profile, filesDir, dataDir, demoData] = await Promise.all([temp('profile'), temp('files'), temp('data'), temp('demo-data')]);
  const port = await freePort();
  const start = (): Promise<Listening> =>
    kind === 'ours'
      ? spawnListening(process.execPath, [CLI], { PORT: String(port), HOST: '127.0.0.1', UPLOAD_DIR: dataDir, STATIC_DIR: DEMO_DIR })
      : spawnListening(process.execPath, ['--import', 'tsx', TUS_SERVER], { PORT: String(port), UPLOAD_DIR: dataDir });
  let server = await start();
  const proxy = await startFaultProxy({ targetPort: port });
  // For @tus/server the page comes from our server on another origin: a cross-origin endpoint.
  const demo = kind === 'ours' ? undefined : await spawnListening(process.execPath, [CLI], { PORT: '0', HOST: '127.0.0.1', UPLOAD_DIR: demoData, STATIC_DIR: DEMO_DIR });
  const pageOrigin = demo?.url ?? proxy.url;
  const lab: InteropLab = {
    proxy,
    pageOrigin,
    dataDir,
    filesDir,
    context: await launchChromium(profile),
    async open(query) {
      const page = await lab.context.newPage();
      await page.goto(`${pageOrigin}/${query}`);
      await page.waitForSelector('body[data-ready="true"]', { timeout: 30_000 });
      return page;
    },
    async relaunch() {
      await lab.context.close();
      lab.context = await launchChromium(profile);
    },
    async killAndRestart(whileDown) {
      await server.kill('SIGKILL');
      await whileDown?.();
      server = await start();
    },
    async close() {
      await lab.context.close().catch(() => undefined);
      await proxy.close();
      await server.kill('SIGKILL');
      await demo?.kill('SIGKILL');
      await Promise.all([profile, filesDir, dataDir, demoData].map((d) => rm(d, { recursive: true, force: true })));
    },
  };
  return lab;
}

export interface Source {
  readonly path: string;
  readonly name: string;
  readonly size: number;
  readonly sha256: string;
}

export async function makeSource(dir: string, name: string, size: number): Promise<Source> {
  const data = randomBytes(size);
  const path = join(dir, name);
  await writeFile(path, data);
  return { path, name, size, sha256: sha256(data) };
}

/** SHA-256 of every file the upload server finished: ours keeps them in complete/, @tus/file-store beside their .json. */
export async function finishedHashes(lab: InteropLab, kind: UploadServerKind): Promise<Set<string>> {
  const dir = kind === 'ours' ? join(lab.dataDir, 'complete') : lab.dataDir;
  const out = new Set<string>();
  for (const name of await readdir(dir).catch(() => [] as string[])) {
    if (name.includes('.')) continue;
    out.add(sha256(await readFile(join(dir, name))));
  }
  return out;
}

export { until };
