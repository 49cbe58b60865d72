// The roll-back guard of the disk store: while a digest-checked body is appended, partial/<key>.guard
// holds the offset to return to, so unverified bytes never count, even after a crash.
import { open, truncate } from 'node:fs/promises';
import { isNotFound, statOrUndefined } from './fs-util.js';

/**
 * Rewrites the guard in place (a few bytes, one block) and fdatasyncs it. Returns whether the file
 * was created: the caller must then make its directory entry durable (one fsync of the directory,
 * shared with the metadata file's), or recovery may not find it.
 */
export async function writeGuard(path: string, value: string): Promise<boolean> {
  let created = false;
  const fh = await open(path, 'r+').catch(async (err: unknown) => {
    if (!isNotFound(err)) throw err;
    created = true;
    return open(path, 'w', 0o600);
  });
  try {
    await fh.truncate(0);
    await fh.write(value, 0);
    await fh.datasync();
  } finally {
    await fh.close();
  }
  return created;
}

/** The guard's content, '' when clear, undefined when there is none. */
export async function readGuard(path: string): Promise<string | undefined> {
  const fh = await open(path, 'r').catch(() => undefined);
  if (!fh) return undefined;
  try {
    return (await fh.readFile('utf8')).trim();
  } finally {
    await fh.close();
  }
}

/**
 * Drops what a digest-checked append left unverified: truncates the data back to the guard's offset
 * (fsynced), then clears the guard. Run at startup for what a crash left, and before the next append
 * for what a failed one could not undo.
 */
export async function rollBackToGuard(dataPath: string, guardPath: string, write = writeGuard): Promise<void> {
  const guard = await readGuard(guardPath);
  if (!guard) return;
  const base = Number(guard);
  const st = await statOrUndefined(dataPath);
  if (st && Number.isSafeInteger(base) && base < st.size) {
    await truncate(dataPath, base);
    const fh = await open(dataPath, 'r+');
    await fh.sync().finally(() => fh.close());
  }
  await write(guardPath, '');
}
