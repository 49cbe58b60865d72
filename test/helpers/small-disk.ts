// A disk that can be filled on purpose, for the disk-full tests. As root: a real tmpfs of a few MiB,
// filled with a filler file (the kernel answers ENOSPC as on any full disk). Elsewhere — mount needs
// root — a temp directory whose FileStore fails its writes with ENOSPC once the budget given by the
// test is spent, counting in 4 KiB pages as tmpfs does. The tests run the same either way; which one
// ran is printed, never skipped. RU_SMALL_DISK=stub forces the stub (to check it as root).
import { execFileSync } from 'node:child_process';
import type { FileHandle } from 'node:fs/promises';
import { mkdtemp, open, rm, stat, truncate, unlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FileStore, type FileWrites } from '../../server/index.js';
import { defaultFileWrites } from '../../server/file-writes.js';

const PAGE = 4096;

export interface SmallDisk {
  /** The upload directory, on the small disk. */
  readonly dir: string;
  readonly kind: 'tmpfs' | 'stub';
  /** A FileStore on this disk (a fresh one per call: what a restarted server opens). */
  store(): FileStore;
  /** No byte fits any more. */
  fill(): Promise<void>;
  /** From now on only `bytes` more fit (rounded up to whole pages). */
  allow(bytes: number): Promise<void>;
  /** Space is back. */
  free(): Promise<void>;
  close(): Promise<void>;
}

export async function openSmallDisk(sizeBytes = 8 * 1024 * 1024): Promise<SmallDisk> {
  const root = await mkdtemp(join(tmpdir(), 'ru-small-disk-'));
  const useTmpfs = process.getuid?.() === 0 && process.env['RU_SMALL_DISK'] !== 'stub';
  if (!useTmpfs) {
    console.warn(`small disk: not root (or RU_SMALL_DISK=stub): a FileStore whose writes fail at a byte budget stands in for tmpfs`);
    return stubDisk(root);
  }
  execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${sizeBytes},mode=0700`, 'tmpfs', root]);
  const dir = join(root, 'uploads');
  const filler = join(root, 'filler');
  const fill = async (): Promise<void> => {
    const fh = await open(filler, 'a');
    try {
      for (const size of [64 * 1024, PAGE]) {
        const block = Buffer.alloc(size, 0xee);
        // Until the kernel refuses: ENOSPC, or a short write.
        for (;;) {
          const { bytesWritten } = await fh.write(block).catch((err: { code?: unknown }) => {
            if (err.code !== 'ENOSPC') throw err;
            return { bytesWritten: 0 };
          });
          if (bytesWritten < size) break;
        }
      }
    } finally {
      await fh.close();
    }
  };
  return {
    dir,
    kind: 'tmpfs',
    store: () => new FileStore({ dir }),
    fill,
    async allow(bytes) {
      await fill();
      const size = (await stat(filler)).size;
      await truncate(filler, Math.max(0, size - pages(bytes) * PAGE));
    },
    async free() {
      await unlink(filler).catch(() => undefined);
    },
    async close() {
      execFileSync('umount', [root]);
      await rm(root, { recursive: true, force: true });
    },
  };
}

function pages(bytes: number): number {
  return Math.ceil(bytes / PAGE);
}

function enospc(): Error {
  return Object.assign(new Error('ENOSPC: no space left on device (small-disk stub)'), { code: 'ENOSPC' });
}

function stubDisk(root: string): SmallDisk {
  let budget = Number.POSITIVE_INFINITY;
  const spend = (bytes: number): void => {
    if (bytes > budget) {
      budget = 0;
      throw enospc();
    }
    budget -= bytes;
  };
  const real = defaultFileWrites;
  const writes: FileWrites = {
    // Only pages the file does not have yet cost space, as on tmpfs.
    async chunks(fh: FileHandle, buffers: Buffer[], position: number) {
      const length = buffers.reduce((n, b) => n + b.length, 0);
      const have = pages((await fh.stat()).size);
      spend(Math.max(0, pages(position + length) - have) * PAGE);
      await real.chunks(fh, buffers, position);
    },
    async small(path: string, data: string) {
      spend(Math.max(1, pages(Buffer.byteLength(data))) * PAGE);
      await real.small(path, data);
    },
    async guard(path: string, value: string) {
      if (value !== '') spend(PAGE);
      return real.guard(path, value);
    },
    sync: real.sync,
  };
  const dir = join(root, 'uploads');
  return {
    dir,
    kind: 'stub',
    store: () => new FileStore({ dir, writes }),
    fill: async () => {
      budget = 0;
    },
    allow: async (bytes) => {
      budget = pages(bytes) * PAGE;
    },
    free: async () => {
      budget = Number.POSITIVE_INFINITY;
    },
    close: () => rm(root, { recursive: true, force: true }),
  };
}
