// Startup repair of the disk store: what a crash (kill -9, power loss) or a failed write left half
// done is put right once, before any request is served, so no repair ever races an append.
import { open, readdir, truncate } from 'node:fs/promises';
import { join } from 'node:path';
import { statOrUndefined, unlinkIfExists } from './fs-util.js';
import { readGuard, writeGuard } from './guard.js';
import { STORAGE_KEY_PATTERN } from './storage.js';

/** What recovery needs of the store it repairs. */
export interface RecoveryTarget {
  readonly partialDir: string;
  readonly completeDir: string;
  /** Writes complete/<key>.json for data renamed into complete/ without it, and drops the partial files. */
  finishCompletion(key: string): Promise<void>;
  /** Removes partial/<key> and its side files. */
  removePartial(key: string): Promise<boolean>;
}

/** Runs every repair; rejects on the first that fails (the caller refuses to serve). */
export async function recoverStore(target: RecoveryTarget): Promise<void> {
  const partial = await readdir(target.partialDir);
  const complete = new Set(await readdir(target.completeDir));
  // Temp files of writeFileAtomic that a crash left before their rename.
  for (const name of partial) if (name.endsWith('.tmp')) await unlinkIfExists(join(target.partialDir, name));
  for (const name of complete) if (name.endsWith('.tmp')) await unlinkIfExists(join(target.completeDir, name));

  for (const name of partial) {
    const key = name.slice(0, -'.guard'.length);
    if (name.endsWith('.guard') && STORAGE_KEY_PATTERN.test(key)) {
      await rollBack(join(target.partialDir, key), join(target.partialDir, name));
    }
  }
  for (const key of complete) {
    if (!STORAGE_KEY_PATTERN.test(key)) continue;
    // Renamed into complete/ but its metadata never written (crash, disk full): finish it.
    if (!complete.has(`${key}.json`)) await target.finishCompletion(key);
  }
  for (const name of complete) {
    const key = name.slice(0, -'.json'.length);
    // Completed, but the crash came before the partial files were removed.
    if (name.endsWith('.json') && STORAGE_KEY_PATTERN.test(key)) {
      if (partial.some((p) => p.startsWith(key))) await target.removePartial(key);
    }
  }
}

/** A digest-checked body was being appended when the process died: its bytes were never verified. */
async function rollBack(dataPath: string, guardPath: string): Promise<void> {
  const guard = await readGuard(guardPath);
  if (!guard) return;
  const base = Number(guard);
  const st = await statOrUndefined(dataPath);
  if (st && Number.isSafeInteger(base) && base < st.size) {
    await truncate(dataPath, base);
    const fh = await open(dataPath, 'r+');
    await fh.sync().finally(() => fh.close());
  }
  await writeGuard(guardPath, '');
}
