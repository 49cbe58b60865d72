// Real headless Chromium (Debian's package) driven by playwright-core. Never skips: a missing
// browser is a failure that names the install command.
import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createHash, randomBytes } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { CHROMIUM_FLAGS, chromiumPath } from '../helpers/chromium.js';

export const REPO = resolve(import.meta.dirname, '../..');
export const DEMO_DIR = join(REPO, 'dist/demo');

export function assertDemoBuilt(): void {
  if (!existsSync(join(DEMO_DIR, 'resilient-upload-sw.js')) || !existsSync(join(DEMO_DIR, 'index.html'))) {
    throw new Error(`The demo is not built in ${DEMO_DIR}: run 'npm run build' (npm test does it first).`);
  }
}

export async function tempDir(prefix: string): Promise<{ path: string; remove(): Promise<void> }> {
  const path = await mkdtemp(join(tmpdir(), `ru-${prefix}-`));
  return { path, remove: () => rm(path, { recursive: true, force: true }) };
}

/** A persistent profile, so a test can quit the browser and start it again with the same IndexedDB. */
export async function launch(profileDir: string): Promise<BrowserContext> {
  return chromium.launchPersistentContext(profileDir, { executablePath: chromiumPath(), headless: true, args: CHROMIUM_FLAGS });
}

/** Opens the demo and waits until the uploader connected and rendered its snapshot. */
export async function openDemo(context: BrowserContext, url: string): Promise<Page> {
  const page = await context.newPage();
  await page.goto(url);
  await page.waitForSelector('body[data-ready="true"]', { timeout: 30_000 });
  return page;
}

export interface SourceFile {
  readonly path: string;
  readonly name: string;
  readonly size: number;
  readonly sha256: string;
}

export async function makeFile(dir: string, name: string, size: number): Promise<SourceFile> {
  const path = join(dir, name);
  const hash = createHash('sha256');
  const data = size > 0 ? randomBytes(size) : Buffer.alloc(0);
  hash.update(data);
  await writeFile(path, data);
  return { path, name, size, sha256: hash.digest('hex') };
}

export function sha256(data: Buffer): string {
  return createHash('sha256').update(data).digest('hex');
}

export interface RowState {
  readonly id: string;
  readonly name: string;
  readonly state: string;
  readonly offset: number;
  readonly error: string;
}

export function rows(page: Page): Promise<RowState[]> {
  return page.$$eval('li[data-upload-id]', (els) =>
    els.map((el) => {
      const li = el as HTMLLIElement;
      return {
        id: li.dataset.uploadId ?? '',
        name: li.querySelector('.name')?.textContent ?? '',
        state: li.dataset.state ?? '',
        offset: Number(li.dataset.offset ?? 0),
        error: li.querySelector('.error')?.textContent ?? '',
      };
    }),
  );
}

/** Waits until `count` rows are all in one of `states`; fails with the rows seen last. */
export async function waitForRows(page: Page, count: number, states: readonly string[], timeoutMs = 120_000): Promise<RowState[]> {
  const deadline = Date.now() + timeoutMs;
  let last: RowState[] = [];
  while (Date.now() < deadline) {
    last = await rows(page);
    if (last.length === count && last.every((r) => states.includes(r.state))) return last;
    await page.waitForTimeout(100);
  }
  throw new Error(`Timed out waiting for ${count} rows in ${states.join('/')}; saw ${JSON.stringify(last)}`);
}

/** Stops every service worker as the browser does to idle ones; the next event starts a fresh instance. */
export async function stopServiceWorkers(page: Page): Promise<void> {
  const cdp = await page.context().newCDPSession(page);
  await cdp.send('ServiceWorker.enable');
  await cdp.send('ServiceWorker.stopAllWorkers');
  await cdp.detach();
}

/** SHA-256 of every completed file the server holds (metadata files aside), whatever its layout. */
export async function completedHashes(uploadDir: string): Promise<Set<string>> {
  const { readdir, readFile } = await import('node:fs/promises');
  const out = new Set<string>();
  const walk = async (dir: string): Promise<void> => {
    for (const entry of await readdir(dir, { withFileTypes: true }).catch(() => [])) {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) await walk(path);
      else if (!entry.name.endsWith('.json')) out.add(sha256(await readFile(path)));
    }
  };
  await walk(join(uploadDir, 'complete'));
  return out;
}
