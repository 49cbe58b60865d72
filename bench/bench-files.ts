// The benchmarks' files and folders: random payloads written in blocks (memory flat whatever the
// size), fresh file ids per round, and upload folders emptied between rounds.
import { open, readdir, rm, utimes } from 'node:fs/promises';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { MiB } from './table.js';

export async function writeRandomFile(path: string, size: number): Promise<void> {
  const handle = await open(path, 'w');
  const block = randomBytes(16 * MiB);
  for (let written = 0; written < size; written += block.length) {
    await handle.write(block, 0, Math.min(block.length, size - written));
  }
  await handle.close();
}

/** A fresh lastModified gives a fresh classic file id, so every round is a new upload. */
export async function freshen(paths: readonly string[], round: number): Promise<void> {
  for (const [i, path] of paths.entries()) {
    const t = new Date(Date.UTC(2026, 0, 1) + round * 1000 + i);
    await utimes(path, t, t);
  }
}

/** Frees disk between rounds; the folders stay, since a running server owns them. */
export async function emptyDir(dir: string): Promise<void> {
  const names = await readdir(dir).catch(() => []);
  await Promise.all(names.map((name) => rm(join(dir, name), { recursive: true, force: true })));
}
