// status() without the writer lock (GET /progress) reads the data file's size and the append's
// ceiling apart. An append that ends in between — here its last fsync fails and it cuts the file
// back to its last checkpoint — must not let the size read before the cut be reported. The partial
// metadata read between the two is held by the test (node:fs/promises readFile, mocked), so the
// interleaving is exact.
import { afterEach, describe, expect, it, vi } from 'vitest';
import * as fsp from 'node:fs/promises';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const held = vi.hoisted(() => ({ gate: undefined as Promise<void> | undefined, reached: undefined as (() => void) | undefined }));

vi.mock('node:fs/promises', async (importOriginal) => {
  const real = await importOriginal<typeof fsp>();
  const readFile = (async (...args: Parameters<typeof real.readFile>) => {
    const path = String(args[0]);
    if (held.gate !== undefined && path.includes(`${'partial'}`) && path.endsWith('.json')) {
      held.reached?.();
      await held.gate;
    }
    return real.readFile(...args);
  }) as typeof real.readFile;
  return { ...real, readFile, default: { ...real, readFile } };
});

const { countingStore, feed, randomData, waitFor } = await import('./client.js');

const MiB = 1024 * 1024;
const dirs: string[] = [];
afterEach(async () => {
  held.gate = undefined;
  await Promise.all(dirs.splice(0).map((d) => rm(d, { recursive: true, force: true })));
});

describe('FileStore.status() beside an append that ends', () => {
  it('a size read before the append cut its file back is read again, never reported', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'ru-status-race-'));
    dirs.push(dir);
    const ref = { namespace: '', id: 'race' };
    const { store, t } = countingStore(dir, { bytes: MiB, ms: 0, maxBytes: 64 * MiB }, ref);
    const data = randomData(3 * MiB);
    const f = feed();
    const appending = store.append(ref, f.body, { start: 0, size: data.length, maxBytes: data.length });
    appending.catch(() => undefined);
    f.push(data.subarray(0, MiB));
    await waitFor(async () => (await store.status(ref))?.offset === MiB); // a checkpoint: 1 MiB durable
    // Every fsync fails from now on: 2 MiB written, 1 MiB durable; the append cuts back to it once
    // its body ends (the write loop notices a failed checkpoint at its next chunk or its end).
    t.failSync = true;
    f.push(data.subarray(MiB, 2 * MiB));
    await waitFor(async () => t.writes === 2);
    // A status() that has read the size (2 MiB) waits in its metadata read...
    let release!: () => void;
    held.gate = new Promise<void>((r) => (release = r));
    const reached = new Promise<void>((r) => (held.reached = r));
    const reading = store.status(ref);
    await reached;
    // ...while the append ends: its last fsync fails, it cuts the file back to 1 MiB.
    held.gate = undefined;
    f.end();
    await expect(appending).rejects.toMatchObject({ code: 'INTERNAL', offset: MiB });
    release();
    expect((await reading)?.offset).toBe(MiB);
    expect((await store.status(ref))?.offset).toBe(MiB);
  });
});
