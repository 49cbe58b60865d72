// The disk store's repairs: run once at startup, never cached per upload, failures surfaced.
import { afterEach, describe, expect, it } from 'vitest';
import { mkdir, mkdtemp, readFile, rename, rm, rmdir, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FileStore, startServer, storageKey, type UploadRef } from '../../server/index.js';

const dirs: string[] = [];
async function tempDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'ru-recovery-'));
  dirs.push(dir);
  return dir;
}
afterEach(async () => {
  await Promise.all(dirs.splice(0).map((d) => rm(d, { recursive: true, force: true })));
});

async function* chunks(...parts: string[]): AsyncGenerator<Uint8Array> {
  for (const p of parts) yield new TextEncoder().encode(p);
}

const ref: UploadRef = { namespace: 'ns', id: 'file' };
const key = storageKey(ref);

/** A guard recovery cannot read (a directory in its place), as a stand-in for EIO or EMFILE. */
async function breakGuard(dir: string): Promise<void> {
  await mkdir(join(dir, 'partial', `${key}.guard`), { recursive: true });
  await mkdir(join(dir, 'complete'), { recursive: true });
}

describe('FileStore recovery', () => {
  it('rolls an unverified digest-checked body back at init, before any request', async () => {
    const dir = await tempDir();
    await new FileStore({ dir }).append(ref, chunks('verified'), { start: 0, maxBytes: 100 });
    // What a kill -9 mid-append leaves: unverified bytes after the guard's offset.
    await writeFile(join(dir, 'partial', key), 'verified+unchecked');
    await writeFile(join(dir, 'partial', `${key}.guard`), '8');
    await new FileStore({ dir }).init();
    expect((await stat(join(dir, 'partial', key))).size).toBe(8);
    expect(await readFile(join(dir, 'partial', `${key}.guard`), 'utf8')).toBe('');
  });

  it('does not keep answering errors after a failure has passed', async () => {
    const dir = await tempDir();
    await breakGuard(dir);
    const store = new FileStore({ dir });
    await expect(store.status(ref)).rejects.toThrow();
    await rmdir(join(dir, 'partial', `${key}.guard`));
    expect(await store.status(ref)).toBeUndefined();
    await store.append(ref, chunks('abc'), { start: 0, maxBytes: 10 });
    expect(await store.status(ref)).toMatchObject({ offset: 3 });
  });

  it('init rejects with the directory and the reason when a repair fails', async () => {
    const dir = await tempDir();
    await breakGuard(dir);
    await expect(new FileStore({ dir }).init()).rejects.toThrow(/cannot prepare the upload directory .*ru-recovery-.*EISDIR/);
  });

  it('startServer refuses to start when the storage cannot be prepared', async () => {
    const dir = await tempDir();
    await writeFile(join(dir, 'not-a-dir'), '');
    await expect(startServer({ uploadDir: join(dir, 'not-a-dir'), sweepIntervalMs: 0 })).rejects.toThrow(/cannot prepare the upload directory/);
  });

  it('counts complete data whose metadata write failed as complete, and finishes the metadata', async () => {
    const dir = await tempDir();
    const store = new FileStore({ dir });
    await store.append(ref, chunks('whole file'), { start: 0, size: 10, name: 'f.txt', maxBytes: 10 });
    // complete() renamed the data, then writing complete/<key>.json failed (disk full).
    await rename(join(dir, 'partial', key), join(dir, 'complete', key));
    expect(await store.status(ref)).toMatchObject({ offset: 10, complete: true });
    // The retried completion does not fail on the missing partial data.
    expect((await store.complete(ref)).metadata).toMatchObject({ id: 'file', size: 10, name: 'f.txt' });
    expect(await store.status(ref)).toMatchObject({ offset: 10, complete: true, name: 'f.txt' });
  });

  it('writes the missing metadata of completed data at startup', async () => {
    const dir = await tempDir();
    await new FileStore({ dir }).append(ref, chunks('whole file'), { start: 0, size: 10, name: 'f.txt', maxBytes: 10 });
    await rename(join(dir, 'partial', key), join(dir, 'complete', key));
    const store = new FileStore({ dir });
    await store.init();
    const meta = JSON.parse(await readFile(join(dir, 'complete', `${key}.json`), 'utf8')) as Record<string, unknown>;
    expect(meta).toMatchObject({ id: 'file', namespace: 'ns', size: 10, name: 'f.txt' });
    await expect(stat(join(dir, 'partial', `${key}.json`))).rejects.toMatchObject({ code: 'ENOENT' });
    await expect(store.append(ref, chunks('x'), { start: 10, maxBytes: 10 })).rejects.toMatchObject({ code: 'ALREADY_COMPLETE', offset: 10 });
  });

  it('drops the side files of an upload whose removal crashed between its unlinks: not found, not counted', async () => {
    const dir = await tempDir();
    await new FileStore({ dir }).append(ref, chunks('held'), { start: 0, size: 10, maxBytes: 10 });
    await writeFile(join(dir, 'partial', `${key}.guard`), '');
    await rm(join(dir, 'partial', key)); // the data went, the crash came before its .json and .guard
    const store = new FileStore({ dir });
    await store.init();
    await expect(stat(join(dir, 'partial', `${key}.json`))).rejects.toMatchObject({ code: 'ENOENT' });
    await expect(stat(join(dir, 'partial', `${key}.guard`))).rejects.toMatchObject({ code: 'ENOENT' });
    expect(await store.status(ref)).toBeUndefined();
    expect(await store.usage('ns')).toEqual({ uploads: 0, bytes: 0 });
  });

  it('an fsync that fails: the bytes written since the append began are cut off, and its start is the offset reported', async () => {
    const dir = await tempDir();
    let fail = false;
    const store = new FileStore({ dir, writes: { sync: async (fh) => (fail ? Promise.reject(Object.assign(new Error('EIO: i/o error, fsync'), { code: 'EIO' })) : fh.sync()) } });
    await store.append(ref, chunks('durable'), { start: 0, size: 20, maxBytes: 20 });
    fail = true;
    await expect(store.append(ref, chunks('not durable'), { start: 7, maxBytes: 13 })).rejects.toMatchObject({ code: 'INTERNAL', offset: 7 });
    expect((await stat(join(dir, 'partial', key))).size).toBe(7);
    expect(await store.status(ref)).toMatchObject({ offset: 7 });
    fail = false;
    expect(await store.append(ref, chunks('then durable'), { start: 7, maxBytes: 13 })).toEqual({ offset: 19 });
  });
});
