import { open, rename, readFile, stat, unlink } from 'node:fs/promises';
import { constants, type Stats } from 'node:fs';
import { dirname } from 'node:path';

/** Makes renames and creations inside `dir` durable. */
export async function fsyncDir(dir: string): Promise<void> {
  const fh = await open(dir, constants.O_RDONLY);
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}

/** Write to a temp file, fsync, rename over, fsync the directory: readers see old or new, never half. */
export async function writeFileAtomic(path: string, data: string): Promise<void> {
  const tmp = `${path}.tmp`;
  const fh = await open(tmp, 'w');
  try {
    await fh.writeFile(data);
    await fh.sync();
  } catch (err) {
    // E.g. a full disk: leave no half-written temp file behind.
    await fh.close().catch(() => undefined);
    await unlinkIfExists(tmp).catch(() => undefined);
    throw err;
  }
  await fh.close();
  await rename(tmp, path);
  await fsyncDir(dirname(path));
}

/** Creates an empty file (or keeps an existing one) and makes its directory entry durable. */
export async function createDurably(path: string): Promise<void> {
  const fh = await open(path, 'a');
  await fh.close();
  await fsyncDir(dirname(path));
}

export async function readJson<T>(path: string): Promise<T | undefined> {
  try {
    return JSON.parse(await readFile(path, 'utf8')) as T;
  } catch (err) {
    if (isNotFound(err)) return undefined;
    // A torn file cannot happen with writeFileAtomic; treat anything unparsable as absent.
    if (err instanceof SyntaxError) return undefined;
    throw err;
  }
}

export async function statOrUndefined(path: string): Promise<Stats | undefined> {
  try {
    return await stat(path);
  } catch (err) {
    if (isNotFound(err)) return undefined;
    throw err;
  }
}

export async function unlinkIfExists(path: string): Promise<boolean> {
  try {
    await unlink(path);
    return true;
  } catch (err) {
    if (isNotFound(err)) return false;
    throw err;
  }
}

export function isNotFound(err: unknown): boolean {
  return (err as { code?: unknown } | null)?.code === 'ENOENT';
}
