// Checkpoint fsyncs of the disk store: a body without a Content-Digest is made durable while it
// streams in, and status() reports each durable offset as it is reached; a failed fsync never cuts
// below what was reported. The body is fed by the test, the clock is the test's, nothing sleeps.
import { afterEach, describe, expect, it } from 'vitest';
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { UploadServerError, type UploadRef } from '../../server/index.js';
import { checkpointDue, type CheckpointPolicy } from '../../server/file-checkpoints.js';
import { countingStore, feed, randomData, sha256, waitFor } from './client.js';

const MiB = 1024 * 1024;
const dirs: string[] = [];
afterEach(async () => {
  await Promise.all(dirs.splice(0).map((d) => rm(d, { recursive: true, force: true })));
});

const ref: UploadRef = { namespace: '', id: 'cp' };

/** See countingStore: its directory removed after each test. */
async function storeWith(checkpoint: CheckpointPolicy) {
  const dir = await mkdtemp(join(tmpdir(), 'ru-checkpoints-'));
  dirs.push(dir);
  return countingStore(dir, checkpoint, ref);
}

// Each write is 1 MiB: the write loop hands the file batches of 1 MiB.
const EVERY_WRITE: CheckpointPolicy = { bytes: 1, ms: 0, maxBytes: 1 };

describe('checkpointDue', () => {
  const policy: CheckpointPolicy = { bytes: 1 * MiB, ms: 500, maxBytes: 64 * MiB };
  it.each([
    [0, 10_000, false],
    [MiB - 1, 10_000, false],
    [MiB, 499, false],
    [MiB, 500, true],
    [64 * MiB - 1, 0, false],
    [64 * MiB, 0, true],
  ])('%i bytes not yet durable, %i ms since the last checkpoint began: %s', (undurable, sinceMs, due) => {
    expect(checkpointDue(policy, undurable, sinceMs)).toBe(due);
  });
});

describe('FileStore checkpoints', () => {
  it('a body without a digest: once enough bytes and enough time, status() reports what the checkpoint made durable', async () => {
    const { store, t, offset } = await storeWith({ bytes: MiB, ms: 500, maxBytes: 64 * MiB });
    const data = randomData(2 * MiB + 10);
    const f = feed();
    const appending = store.append(ref, f.body, { start: 0, size: data.length, maxBytes: data.length });
    f.push(data.subarray(0, MiB));
    await waitFor(async () => t.writes === 1);
    // 1 MiB written, but no time has passed: no fsync yet, nothing reported.
    expect(t.syncs).toBe(0);
    expect(await offset()).toBe(0);
    t.now = 500;
    // The next chunk finds the checkpoint due.
    f.push(data.subarray(MiB, MiB + 10));
    await waitFor(async () => (await offset()) === MiB);
    expect(t.syncs).toBe(1);
    f.push(data.subarray(MiB + 10));
    f.end();
    expect(await appending).toEqual({ offset: data.length });
    expect(await offset()).toBe(data.length);
  });

  it('maxBytes not yet durable make a checkpoint due whatever the time', async () => {
    const { store, t, offset } = await storeWith({ bytes: 1, ms: 60_000, maxBytes: 2 * MiB });
    const data = randomData(3 * MiB);
    const f = feed();
    const appending = store.append(ref, f.body, { start: 0, maxBytes: data.length });
    f.push(data.subarray(0, MiB));
    await waitFor(async () => t.writes === 1);
    expect(t.syncs).toBe(0);
    f.push(data.subarray(MiB, 2 * MiB));
    await waitFor(async () => (await offset()) === 2 * MiB);
    f.push(data.subarray(2 * MiB));
    f.end();
    expect(await appending).toEqual({ offset: data.length });
  });

  it('an fsync runs beside the writes, one at a time, and makes durable what was written when it began', async () => {
    const { store, t, offset } = await storeWith(EVERY_WRITE);
    const data = randomData(3 * MiB);
    const f = feed();
    const appending = store.append(ref, f.body, { start: 0, maxBytes: data.length });
    const first = gate();
    t.gate = first.promise;
    f.push(data.subarray(0, MiB));
    await waitFor(async () => t.syncs === 1);
    f.push(data.subarray(MiB, 2 * MiB));
    f.push(data.subarray(2 * MiB));
    // The writes go on while the fsync runs; nothing is reported before it ends, and no second one starts.
    await waitFor(async () => t.writes === 3);
    expect(await offset()).toBe(0);
    expect(t.syncs).toBe(1);
    const second = gate();
    t.gate = second.promise;
    first.open();
    // It covers the 1 MiB written when it began; the next one begins at once for the rest.
    await waitFor(async () => t.syncs === 2);
    expect(await offset()).toBe(MiB);
    t.gate = undefined;
    second.open();
    await waitFor(async () => (await offset()) === 3 * MiB);
    f.end();
    expect(await appending).toEqual({ offset: data.length });
  });

  it('a checkpoint fsync that fails: writing stops, the file is cut back to the last durable offset, which the append reports', async () => {
    const { store, t, offset, dataPath } = await storeWith(EVERY_WRITE);
    const data = randomData(3 * MiB);
    const f = feed();
    const appending = store.append(ref, f.body, { start: 0, maxBytes: data.length });
    const refused = expect(appending).rejects.toMatchObject({ code: 'INTERNAL', offset: MiB });
    f.push(data.subarray(0, MiB));
    await waitFor(async () => (await offset()) === MiB);
    t.failSync = true;
    f.push(data.subarray(MiB, 2 * MiB));
    await waitFor(async () => t.failedSyncs === 1);
    // Reported once, never taken back.
    expect(await offset()).toBe(MiB);
    f.push(data.subarray(2 * MiB));
    await refused;
    expect(t.failedSyncs).toBe(1);
    expect((await stat(dataPath)).size).toBe(MiB);
    expect(sha256(await readFile(dataPath))).toBe(sha256(data.subarray(0, MiB)));
    expect(await offset()).toBe(MiB);
    // The next append goes on from there.
    t.failSync = false;
    expect(await store.append(ref, bodyOf(data.subarray(MiB)), { start: MiB, maxBytes: data.length })).toEqual({ offset: data.length });
  });

  it('the final fsync that fails cuts back to the last checkpoint, not to the start of the append', async () => {
    const { store, t, offset, dataPath } = await storeWith(EVERY_WRITE);
    const data = randomData(MiB + 100);
    const f = feed();
    const appending = store.append(ref, f.body, { start: 0, maxBytes: data.length });
    f.push(data.subarray(0, MiB));
    await waitFor(async () => (await offset()) === MiB);
    f.push(data.subarray(MiB));
    t.failSync = true;
    f.end();
    await expect(appending).rejects.toMatchObject({ code: 'INTERNAL', offset: MiB });
    expect((await stat(dataPath)).size).toBe(MiB);
    expect(await offset()).toBe(MiB);
  });

  it('a body cut mid-way keeps everything written, past the last checkpoint', async () => {
    const { store, offset } = await storeWith(EVERY_WRITE);
    const data = randomData(MiB + 500);
    const f = feed();
    const appending = store.append(ref, f.body, { start: 0, maxBytes: 2 * MiB });
    f.push(data.subarray(0, MiB));
    await waitFor(async () => (await offset()) === MiB);
    f.push(data.subarray(MiB));
    f.fail(new UploadServerError('TIMEOUT'));
    await expect(appending).rejects.toMatchObject({ code: 'TIMEOUT', offset: MiB + 500 });
    expect(await offset()).toBe(MiB + 500);
  });
});

function gate(): { promise: Promise<void>; open: () => void } {
  let open!: () => void;
  const promise = new Promise<void>((r) => (open = r));
  return { promise, open };
}

async function* bodyOf(data: Uint8Array): AsyncGenerator<Uint8Array> {
  yield data;
}
