// Fencing at the storage level, step by step: two S3Storage objects stand for two instances, and
// the tests decide when each body delivers its bytes. No leases here: this is what holds when a
// lease was lost without the holder knowing (paused, cut off).
import { afterAll, beforeAll, expect, it } from 'vitest';
import { createHash, randomBytes } from 'node:crypto';
import type { S3Client } from '@aws-sdk/client-s3';
import { S3Storage, UploadServerError, type UploadRef } from '../../server/index.js';
import { completedSha256 } from './instances.js';
import { freshPrefix, s3Env, testClient } from './s3-env.js';

const MiB = 1024 * 1024;
let client: S3Client;
beforeAll(() => {
  client = testClient();
});
afterAll(() => client.destroy());

function twoInstances(): { prefix: string; a: S3Storage; b: S3Storage } {
  const prefix = freshPrefix('fencing');
  const make = (): S3Storage => new S3Storage({ client, bucket: s3Env().bucket, prefix });
  return { prefix, a: make(), b: make() };
}

/** A body the test feeds chunk by chunk; `end()` finishes it. */
function controlledBody(): { body: AsyncIterable<Uint8Array>; push(b: Uint8Array): void; end(): void; taken(): Promise<void> } {
  const queue: Array<Uint8Array | null> = [];
  let wake: (() => void) | undefined;
  let waiting = false;
  const waiters: Array<() => void> = [];
  const body = (async function* () {
    for (;;) {
      while (queue.length === 0) {
        waiting = true;
        for (const w of waiters.splice(0)) w();
        await new Promise<void>((r) => (wake = r));
        waiting = false;
      }
      const next = queue.shift()!;
      if (next === null) return;
      yield next;
    }
  })();
  return {
    body,
    push: (b) => {
      queue.push(b);
      wake?.();
    },
    end: () => {
      queue.push(null);
      wake?.();
    },
    // Resolves once the storage has read everything pushed so far and asks for more.
    taken: () => (waiting && queue.length === 0 ? Promise.resolve() : new Promise<void>((r) => waiters.push(r))),
  };
}

const sha = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex');

async function rejection(p: Promise<unknown>): Promise<UploadServerError> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(UploadServerError);
  return err as UploadServerError;
}

it('a stale writer cannot store parts over, or commit after, the writer that took over', async () => {
  const { prefix, a, b } = twoInstances();
  const ref: UploadRef = { namespace: '', id: 'stale-parts.bin' };
  const data = randomBytes(40 * MiB);
  // A starts: fenced in, and holds 6 MiB in memory (no part yet).
  const stale = controlledBody();
  const aDone = a.append(ref, stale.body, { start: 0, size: data.length, maxBytes: data.length });
  stale.push(data.subarray(0, 6 * MiB));
  await stale.taken();
  // B takes over (as after a lease expiry) and stores 16 MiB: two parts.
  expect(await b.append(ref, (async function* () { yield data.subarray(0, 16 * MiB); })(), { start: 0, maxBytes: data.length })).toEqual({ offset: 16 * MiB });
  // A wakes up and delivers what would be two more parts of its own: they must never count.
  stale.push(randomBytes(12 * MiB));
  stale.end();
  expect(await rejection(aDone)).toMatchObject({ code: 'BUSY' });
  expect(await b.status(ref)).toMatchObject({ offset: 16 * MiB });
  // B finishes; the file is exactly the data (A's parts, uploaded under numbers of its own, are dropped).
  expect(await b.append(ref, (async function* () { yield data.subarray(16 * MiB); })(), { start: 16 * MiB, maxBytes: data.length })).toEqual({ offset: data.length });
  await b.complete(ref);
  expect(await completedSha256(client, prefix, ref.id)).toBe(sha(data));
});

it('a stale writer cannot freeze an upload another writer has appended to since (classic uploads without a size)', async () => {
  const { prefix, a, b } = twoInstances();
  const ref: UploadRef = { namespace: '', id: 'stale-complete.bin' };
  const first = randomBytes(1 * MiB);
  const more = randomBytes(2 * MiB);
  // A's body arrived whole: the protocol would complete now, but A stalls before it does.
  await a.append(ref, (async function* () { yield first; })(), { start: 0, maxBytes: 100 * MiB });
  await b.append(ref, (async function* () { yield more; })(), { start: first.length, maxBytes: 100 * MiB });
  expect(await rejection(a.complete(ref))).toMatchObject({ code: 'BUSY' });
  await b.complete(ref);
  expect(await completedSha256(client, prefix, ref.id)).toBe(sha(Buffer.concat([first, more])));
});
