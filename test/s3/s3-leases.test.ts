// Writer leases in the bucket, between S3Storage objects that stand for separate instances (each
// has its own leases and token), against the real gateway with short timings.
import { afterAll, beforeAll, expect, it } from 'vitest';
import { PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { S3Storage, type Lease, type LeaseTimings } from '../../server/index.js';
import { waitFor } from '../server/client.js';
import { freshPrefix, s3Env, testClient } from './s3-env.js';

const FAST: Partial<LeaseTimings> = { renewMs: 200, ttlMs: 2000, pollMs: 50 };
/** The takeover timeout the protocol passes (issue 9's TAKEOVER_TIMEOUT_MS). */
const TIMEOUT = 20_000;
let client: S3Client;
beforeAll(() => {
  client = testClient();
});
afterAll(() => client.destroy());

function instances(n: number, timings: Array<Partial<LeaseTimings>> = []): { prefix: string; nodes: S3Storage[] } {
  const prefix = freshPrefix('leases');
  return { prefix, nodes: Array.from({ length: n }, (_, i) => new S3Storage({ client, bucket: s3Env().bucket, prefix, lease: timings[i] ?? FAST })) };
}

/** Whether a promise has settled, without waiting for it. */
function settled(p: Promise<unknown>): () => boolean {
  let done = false;
  void p.then(
    () => (done = true),
    () => (done = true),
  );
  return () => done;
}

const aborted = (lease: Lease) => async () => lease.signal.aborted;

it('newest wins across instances: the holder learns of the request, the taker gets the lease once it is released', async () => {
  const { nodes } = instances(2);
  const [a, b] = nodes as [S3Storage, S3Storage];
  const held = await a.locks.acquire('k1', TIMEOUT);
  const taking = b.locks.acquire('k1', TIMEOUT);
  const taken = settled(taking);
  await waitFor(aborted(held), 10_000);
  expect(held.signal.reason).toMatchObject({ code: 'BUSY' });
  // The holder is still flushing: the taker waits for the release, however long the TTL has run.
  expect(taken()).toBe(false);
  held.release();
  const lease = await taking;
  expect(lease.signal.aborted).toBe(false);
  lease.release();
});

it('an even newer request wins over a waiting one', async () => {
  const { nodes } = instances(3);
  const [a, b, c] = nodes as [S3Storage, S3Storage, S3Storage];
  const held = await a.locks.acquire('k2', TIMEOUT);
  const waiting = b.locks.acquire('k2', TIMEOUT);
  await waitFor(aborted(held), 10_000);
  const newest = c.locks.acquire('k2', TIMEOUT);
  const second = await waiting;
  expect(second.signal.aborted).toBe(true);
  second.release();
  held.release();
  const lease = await newest;
  expect(lease.signal.aborted).toBe(false);
  lease.release();
});

it('a holder that stops renewing (killed, paused) is taken over once its lease has been silent for the TTL', async () => {
  // The first instance never renews: as if its process stopped right after acquiring.
  const { nodes } = instances(2, [{ ...FAST, renewMs: 3_600_000 }, FAST]);
  const [dead, b] = nodes as [S3Storage, S3Storage];
  const stale = await dead.locks.acquire('k3', TIMEOUT);
  const t0 = performance.now();
  const lease = await b.locks.acquire('k3', TIMEOUT);
  expect(performance.now() - t0).toBeGreaterThanOrEqual(FAST.ttlMs!);
  expect(lease.signal.aborted).toBe(false);
  lease.release();
  stale.release();
});

it('a holder that is alive but does not let go makes the newer request fail with UNAVAILABLE, not pass it', async () => {
  const { nodes } = instances(2);
  const [a, b] = nodes as [S3Storage, S3Storage];
  const stuck = await a.locks.acquire('k6', TIMEOUT);
  // Bounded by the TTL at least (a silent holder must be recognisable), not by the short timeout.
  const err = await b.locks.acquire('k6', 100).then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toMatchObject({ code: 'UNAVAILABLE' });
  expect(stuck.signal.aborted).toBe(true);
  stuck.release();
});

it('a holder whose lease was taken from it stops at its next renewal', async () => {
  const { prefix, nodes } = instances(1);
  const held = await nodes[0]!.locks.acquire('k4', TIMEOUT);
  await client.send(
    new PutObjectCommand({ Bucket: s3Env().bucket, Key: `${prefix}leases/k4`, Body: JSON.stringify({ holder: 'someone-else', beat: 99 }) }),
  );
  await waitFor(aborted(held), 10_000);
  expect(held.signal.reason).toMatchObject({ code: 'BUSY' });
  held.release();
});

it('within one instance a newer request takes over at once, without waiting for a renewal', async () => {
  const { nodes } = instances(1, [{ ...FAST, renewMs: 3_600_000 }]);
  const first = await nodes[0]!.locks.acquire('k5', TIMEOUT);
  const next = nodes[0]!.locks.acquire('k5', TIMEOUT);
  expect(first.signal.aborted).toBe(true);
  first.release();
  const lease = await next;
  expect(lease.signal.aborted).toBe(false);
  lease.release();
});
