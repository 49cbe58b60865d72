// How the disk store writes, and the small write steps its append is made of.
import type { FileHandle } from 'node:fs/promises';
import { toServerError } from './errors.js';
import { writeAll, type WriteChunks } from './file-append.js';
import { statOrUndefined, writeFileAtomic } from './fs-util.js';
import { writeGuard } from './guard.js';

/**
 * How the disk store writes. A seam for tests that need a full disk where no small file system can
 * be mounted (test/helpers/small-disk.ts); everything else uses the defaults.
 */
export interface FileWrites {
  /** Body batches into the data file at `position`. */
  readonly chunks: WriteChunks;
  /** A small file (metadata), atomically. */
  readonly small: (path: string, data: string) => Promise<void>;
  /** The roll-back guard; resolves whether the file was created (see writeGuard). */
  readonly guard: (path: string, value: string) => Promise<boolean>;
  /** fsync of an append's data file, before its offset is acknowledged. */
  readonly sync: (fh: FileHandle) => Promise<void>;
}

export const defaultFileWrites: FileWrites = { chunks: writeAll, small: writeFileAtomic, guard: writeGuard, sync: (fh) => fh.sync() };

/** Truncates back to `start`, fsyncs, clears the guard; false when any of it failed. */
export async function undoUnverified(fh: FileHandle, start: number, clearGuard: () => Promise<unknown>): Promise<boolean> {
  try {
    await fh.truncate(start);
    await fh.sync();
    await clearGuard();
    return true;
  } catch {
    return false;
  }
}

/**
 * Makes what this append wrote durable and says how much the file holds. When the fsync fails,
 * nothing written since `durable` (the append's start, or what its last checkpoint made durable)
 * is known durable (Linux may mark the pages clean all the same): it is cut off (cutBack).
 */
export async function syncAndMeasure(fh: FileHandle, durable: number, sync: FileWrites['sync']): Promise<number> {
  try {
    await sync(fh);
  } catch (err) {
    return cutBack(fh, durable, err);
  }
  return (await fh.stat()).size;
}

/**
 * After a failed fsync: cuts the file back to `durable`, the last offset made durable, fsyncs it,
 * and throws `err` with that offset, never less than what status() may have reported.
 */
export async function cutBack(fh: FileHandle, durable: number, err: unknown): Promise<never> {
  await fh
    .truncate(durable)
    .then(() => fh.sync())
    .catch(() => undefined); // then the next append's offset check sees the longer file
  throw toServerError(err, durable);
}

export async function sizeOf(path: string): Promise<number> {
  return (await statOrUndefined(path))?.size ?? 0;
}
