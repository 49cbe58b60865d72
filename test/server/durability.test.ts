// Acknowledged bytes stay and every completed upload is announced, whatever failed before: a full
// disk (a real tmpfs when root), a failing onComplete hook, a crash inside the hook, a completion
// that startup recovery finished.
import { afterEach, describe, expect, it } from 'vitest';
import { appendFile, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FileStore, storageKey, type CompletedUpload, type UploadServerOptions } from '../../server/index.js';
import { startServerProcess } from '../helpers/server-process.js';
import { closedOnce, startTestServer, type TestServer } from '../helpers/server.js';
import { openSmallDisk, type SmallDisk } from '../helpers/small-disk.js';
import { digestOf, post, randomData, sha256, status, waitFor } from './client.js';

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function smallDisk(): Promise<SmallDisk> {
  const disk = await openSmallDisk();
  cleanups.push(() => disk.close());
  return disk;
}

/** A real server on the small disk; close() before the disk is unmounted. */
async function serve(disk: SmallDisk, options: UploadServerOptions = {}): Promise<TestServer> {
  return closedOnce(await startTestServer({ storage: disk.store(), sweepIntervalMs: 0, ...options }), cleanups);
}

describe('no acknowledged byte is rolled back', () => {
  it('a digest POST whose metadata write hits a full disk does not undo later acknowledged POSTs at restart', async () => {
    const disk = await smallDisk();
    let srv = await serve(disk);
    const data = randomData(100);
    const first = data.subarray(0, 50);
    // One page left: the roll-back guard gets it, the metadata write does not.
    await disk.allow(4096);
    const failed = await post(srv.url, 'guarded', 0, first, { 'X-File-Size': '100', 'Content-Digest': digestOf(first) });
    expect(failed).toMatchObject({ status: 507, code: 'DISK_FULL' });
    await disk.free();
    expect(await post(srv.url, 'guarded', 0, first, { 'X-File-Size': '100' })).toMatchObject({ status: 200, body: '50' });
    // A clean restart on the same directory.
    await srv.close();
    srv = await serve(disk);
    expect(await status(srv.url, 'guarded')).toMatchObject({ body: '50', complete: false });
    expect(await post(srv.url, 'guarded', 50, data.subarray(50))).toMatchObject({ status: 200, complete: true });
    expect(sha256(await readFile(join(disk.dir, 'complete', storageKey({ namespace: '', id: 'guarded' }))))).toBe(sha256(data));
  });
});

describe('onComplete', () => {
  it('fires once space frees when the completion metadata hit a full disk, and not again after a restart', async () => {
    const disk = await smallDisk();
    const calls: CompletedUpload[] = [];
    const onComplete = (info: CompletedUpload): void => void calls.push(info);
    let srv = await serve(disk, { onComplete });
    const data = randomData(5001);
    // 5000 bytes: the last byte then fits in a page the file already has.
    expect(await post(srv.url, 'meta-full', 0, data.subarray(0, 5000), { 'X-File-Size': '5001' })).toMatchObject({ status: 200 });
    await disk.fill();
    const last = await post(srv.url, 'meta-full', 5000, data.subarray(5000));
    expect(last).toMatchObject({ status: 507, code: 'DISK_FULL' });
    expect(await status(srv.url, 'meta-full')).toMatchObject({ body: '5001', complete: true });
    await disk.free();
    await waitFor(async () => calls.length > 0, 30_000);
    expect(calls).toHaveLength(1);
    expect(calls[0]!.metadata).toMatchObject({ id: 'meta-full', size: 5001 });
    expect(sha256(await readFile(calls[0]!.path))).toBe(sha256(data));
    await srv.close();
    // Delivered and recorded: a restart does not call it again (close() waits for deliveries).
    srv = await serve(disk, { onComplete });
    await srv.close();
    expect(calls).toHaveLength(1);
  });

  it('fires for an upload whose completion startup recovery finished', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'ru-recovered-'));
    cleanups.push(() => rm(dir, { recursive: true, force: true }));
    const ref = { namespace: '', id: 'recovered' };
    const key = storageKey(ref);
    const store = new FileStore({ dir });
    async function* body(): AsyncGenerator<Uint8Array> {
      yield Buffer.from('whole file');
    }
    await store.append(ref, body(), { start: 0, size: 10, name: 'r.txt', maxBytes: 10 });
    // What a crash right after complete()'s rename leaves: the data in complete/, its metadata not
    // written yet, the partial metadata (id, name) still there.
    const partialMeta = await readFile(join(dir, 'partial', `${key}.json`));
    await store.complete(ref);
    await rm(join(dir, 'complete', `${key}.json`));
    await writeFile(join(dir, 'partial', `${key}.json`), partialMeta);
    const calls: CompletedUpload[] = [];
    const srv = await startTestServer({ uploadDir: dir, sweepIntervalMs: 0, onComplete: (info) => void calls.push(info) });
    cleanups.push(() => srv.close());
    await waitFor(async () => calls.length > 0, 15_000);
    expect(calls[0]!.metadata).toMatchObject({ id: 'recovered', size: 10, name: 'r.txt' });
  });

  it('logs a failing hook with the upload id and retries it until it succeeds', async () => {
    const errors: string[] = [];
    const logger = { error: (message: string) => void errors.push(message), warn: () => undefined, info: () => undefined };
    let attempts = 0;
    const srv = await startTestServer({
      sweepIntervalMs: 0,
      logger,
      onComplete: () => {
        attempts++;
        if (attempts < 3) throw new Error(`webhook down (${attempts})`);
      },
    });
    cleanups.push(() => srv.close());
    expect(await post(srv.url, 'flaky-hook', 0, randomData(10))).toMatchObject({ status: 200, complete: true });
    await waitFor(async () => attempts >= 3, 30_000);
    expect(errors.filter((m) => m.includes('flaky-hook'))).toHaveLength(2);
    expect(errors.join('\n')).toMatch(/webhook down \(1\)/);
  });

  it('fires again after a crash inside the hook (at least once), then never again', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'ru-hook-crash-'));
    cleanups.push(() => rm(dir, { recursive: true, force: true }));
    const hookLog = join(dir, 'hook.log');
    await appendFile(hookLog, '');
    const options = { uploadDir: join(dir, 'uploads'), sweepIntervalMs: 0 };
    const lines = async (): Promise<string[]> => (await readFile(hookLog, 'utf8')).split('\n').filter(Boolean);
    const dying = await startServerProcess({ options, hookLog, hookDies: true });
    cleanups.push(() => dying.kill('SIGKILL'));
    const exited = new Promise((r) => dying.process.once('exit', r));
    expect(await post(dying.url, 'crash-in-hook', 0, randomData(10))).toMatchObject({ status: 200, complete: true });
    await exited;
    expect(await lines()).toHaveLength(1);
    const again = await startServerProcess({ options, hookLog });
    cleanups.push(() => again.kill('SIGKILL'));
    await waitFor(async () => (await lines()).length === 2, 15_000);
    await again.kill('SIGTERM');
    const third = await startServerProcess({ options, hookLog });
    cleanups.push(() => third.kill('SIGKILL'));
    await third.kill('SIGTERM');
    expect((await lines()).map((l) => (JSON.parse(l) as { id: string }).id)).toEqual(['crash-in-hook', 'crash-in-hook']);
  });
});
