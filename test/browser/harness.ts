// What every browser test shares, whatever the engine: the built demo, temp folders, random
// source files and their SHA-256, the demo's rows read through the DOM contract, and polling waits.
import { readdir, readFile, writeFile } from 'node:fs/promises';
import { randomBytes } from 'node:crypto';
import { sha256 } from '../helpers/hash.js';
import { join } from 'node:path';
import type { Tab } from '../../lab/engines/index.js';

export { DEMO_DIR, REPO, assertDemoBuilt, openDemo, tempDir } from '../../lab/demo.js';
export { until } from '../../lab/poll.js';

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
