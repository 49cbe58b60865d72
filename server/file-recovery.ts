// Startup repair of the disk store: what a crash (kill -9, power loss) or a failed write left half
// done is put right once, before any request is served, so no repair ever races an append.
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { unlinkIfExists } from './fs-util.js';
import { FileLayout } from './file-layout.js';
import { rollBackToGuard } from './guard.js';

/** The store's own steps that recovery reuses. */
export interface RecoveryActions {
  /** Writes complete/<key>.json for data renamed into complete/ without it, and drops the partial files. */
  finishCompletion(key: string): Promise<void>;
  /** Removes partial/<key> and its side files. */
  removePartial(key: string): Promise<boolean>;
}

/** Runs every repair; rejects on the first that fails (the caller refuses to serve). */
export async function recoverStore(layout: FileLayout, actions: RecoveryActions): Promise<void> {
  const partial = (await readdir(layout.partialDir)).map((name) => ({ name, entry: FileLayout.parse(name) }));
  const complete = (await readdir(layout.completeDir)).map((name) => ({ name, entry: FileLayout.parse(name) }));
  // Temp files of writeFileAtomic that a crash left before their rename.
  for (const { name, entry } of partial) if (entry?.kind === 'tmp') await unlinkIfExists(join(layout.partialDir, name));
  for (const { name, entry } of complete) if (entry?.kind === 'tmp') await unlinkIfExists(join(layout.completeDir, name));

  for (const { entry } of partial) {
    if (entry?.kind === 'guard') await rollBackToGuard(layout.partial(entry.key), layout.partial(entry.key, 'guard'));
  }
  const completeKinds = new Map<string, Set<string>>();
  for (const { entry } of complete) {
    if (entry && entry.kind !== 'tmp') completeKinds.set(entry.key, (completeKinds.get(entry.key) ?? new Set()).add(entry.kind));
  }
  const partialKeys = new Set(partial.flatMap(({ entry }) => (entry && entry.kind !== 'tmp' ? [entry.key] : [])));
  for (const [key, kinds] of completeKinds) {
    // Renamed into complete/ but its metadata never written (crash, disk full): finish it.
    if (kinds.has('data') && !kinds.has('meta')) await actions.finishCompletion(key);
    // Completed, but the crash came before the partial files were removed.
    else if (kinds.has('meta') && partialKeys.has(key)) await actions.removePartial(key);
  }
  // Side files whose data is gone and not completed: a removal (DELETE, sweep) that crashed
  // between its unlinks. Nothing can reach them, yet they would count against the namespace.
  const withData = new Set(partial.flatMap(({ entry }) => (entry?.kind === 'data' ? [entry.key] : [])));
  for (const key of partialKeys) {
    if (!withData.has(key) && !completeKinds.get(key)?.has('data')) await actions.removePartial(key);
  }
}
