// What every browser test shares, whatever the engine: the built demo, temp folders, random
// source files and their SHA-256, the demo's rows read through the DOM contract, and polling waits.
import { existsSync } from 'node:fs';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { createHash, randomBytes } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type { BrowserSession, Tab } from './engines/index.js';

export const REPO = resolve(import.meta.dirname, '../..');
export const DEMO_DIR = join(REPO, 'dist/demo');

export function assertDemoBuilt(): void {
  if (!existsSync(join(DEMO_DIR, 'sw.js')) || !existsSync(join(DEMO_DIR, 'index.html'))) {
    throw new Error(`The demo is not built in ${DEMO_DIR}: run 'npm run build' (npm test does it first).`);
  }
}

export async function tempDir(prefix: string): Promise<{ path: string; remove(): Promise<void> }> {
  const path = await mkdtemp(join(tmpdir(), `ru-${prefix}-`));
  return { path, remove: () => rm(path, { recursive: true, force: true }) };
}

/** Waits for a condition, polling; fails with the last error the probe threw. */
export async function until<T>(what: string, probe: () => Promise<T | undefined | false>, timeoutMs = 120_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  while (Date.now() < deadline) {
    const value = await probe().catch((error: unknown) => {
      last = error;
      return undefined;
    });
    if (value !== undefined && value !== false) return value;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`Timed out waiting for ${what}${last ? ` (last error: ${String(last)})` : ''}`);
}

/** Opens the demo in a new tab and waits until the uploader connected and rendered its snapshot. */
export async function openDemo(session: BrowserSession, url: string): Promise<Tab> {
  const tab = await session.open(url);
  await until('the demo ready (body[data-ready="true"])', () => tab.evaluate(() => document.body?.dataset.ready === 'true', null), 30_000);
  return tab;
}

export interface SourceFile {
  readonly path: string;
  readonly name: string;
  readonly size: number;
  readonly sha256: string;
}

export async function makeFile(dir: string, name: string, size: number): Promise<SourceFile> {
  const path = join(dir, name);
  const data = size > 0 ? randomBytes(size) : Buffer.alloc(0);
  await writeFile(path, data);
  return { path, name, size, sha256: sha256(data) };
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

/** The demo's rows, read through its DOM contract (`li[data-upload-id]`, `data-state`, `data-offset`, `.name`, `.error`). */
export function rows(tab: Tab): Promise<RowState[]> {
  return tab.evaluate(
    () =>
      Array.from(document.querySelectorAll<HTMLLIElement>('li[data-upload-id]')).map((li) => ({
        id: li.dataset.uploadId ?? '',
        name: li.querySelector('.name')?.textContent ?? '',
        state: li.dataset.state ?? '',
        offset: Number(li.dataset.offset ?? 0),
        error: li.querySelector('.error')?.textContent ?? '',
      })),
    null,
  );
}

/** Waits until `count` rows are all in one of `states`; fails with the rows seen last. */
export async function waitForRows(tab: Tab, count: number, states: readonly string[], timeoutMs = 120_000): Promise<RowState[]> {
  const deadline = Date.now() + timeoutMs;
  let last: RowState[] = [];
  while (Date.now() < deadline) {
    last = await rows(tab);
    if (last.length === count && last.every((r) => states.includes(r.state))) return last;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`Timed out waiting for ${count} rows in ${states.join('/')}; saw ${JSON.stringify(last)}`);
}

/** Clicks a row's action button (`pause`, `resume`, `retry`, `cancel`). */
export function clickAction(tab: Tab, id: string, action: 'pause' | 'resume' | 'retry' | 'cancel'): Promise<void> {
  return tab.click(`li[data-upload-id="${id}"] button[data-action="${action}"]`);
}

/** SHA-256 of every completed file the server holds (metadata files aside), whatever its layout. */
export async function completedHashes(uploadDir: string): Promise<Set<string>> {
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
