// Three server processes on one bucket: any request may reach any instance. Every file is checked
// byte for byte (SHA-256 of the completed object in the bucket).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ListMultipartUploadsCommand, type S3Client } from '@aws-sdk/client-s3';
import { storageKey } from '../../server/index.js';
import type { Listening } from '../../lab/processes.js';
import { call, digestOf, openPost, post, randomData, sha256, status, waitFor } from '../server/client.js';
import { fileDigest } from '../helpers/hash.js';
import { committedOffset, completedSha256, keysUnder, startInstance } from './instances.js';
import { freshPrefix, s3Env, testClient } from './s3-env.js';

const MiB = 1024 * 1024;
const prefix = freshPrefix('multi');
let client: S3Client;
let nodes: Listening[] = [];

beforeAll(async () => {
  client = testClient();
  nodes = await Promise.all([0, 1, 2].map(() => startInstance(prefix)));
});
afterAll(async () => {
  await Promise.all(nodes.map((n) => n.kill('SIGKILL')));
  client.destroy();
});

const offsetAt = async (node: Listening, id: string): Promise<number> => Number((await status(node.url, id)).body);

/** The response a raw POST got, once it has arrived. */
async function answerOf(received: () => string): Promise<{ status: number; code: string | undefined }> {
  await waitFor(async () => /\r\n\r\n/.test(received()), 60_000);
  const text = received();
  return { status: Number(/^HTTP\/1\.1 (\d+)/.exec(text)?.[1]), code: /x-error-code: (\S+)/i.exec(text)?.[1] };
}

async function finish(node: Listening, id: string, data: Buffer): Promise<void> {
  const from = await offsetAt(node, id);
  const r = await post(node.url, id, from, data.subarray(from), { 'X-File-Size': String(data.length) });
  expect(r).toMatchObject({ status: 200, complete: true, offset: data.length });
  expect(await completedSha256(client, prefix, id)).toBe(sha256(data));
}

it('chunks alternate over the instances; each reports the same durable offset; the file is identical', async () => {
  const id = 'alternating.bin';
  const data = randomData(21 * MiB + 12_345);
  // Below the part minimum, above a part, digest-checked or not: tails and parts mixed.
  const sizes = [3 * MiB, 7 * MiB + 5, 1 * MiB, 9 * MiB];
  for (let at = 0, i = 0; at < data.length; i++) {
    const chunk = data.subarray(at, at + sizes[i % sizes.length]!);
    const extra: Record<string, string> = i % 2 === 1 ? { 'Content-Digest': digestOf(chunk) } : {};
    const r = await post(nodes[i % 3]!.url, id, at, chunk, { 'X-File-Size': String(data.length), ...extra });
    at += chunk.length;
    expect(r).toMatchObject({ status: 200, offset: at });
    const seen = await Promise.all(nodes.map((n) => status(n.url, id)));
    for (const s of seen) expect({ offset: Number(s.body), complete: s.complete }).toEqual({ offset: at, complete: at === data.length });
  }
  expect(await completedSha256(client, prefix, id)).toBe(sha256(data));
});

it('X-File-Digest is checked across instances: no instance saw every byte, the pieces in the manifest tell', async () => {
  const data = randomData(19 * MiB + 777);
  const wrong = Buffer.from(data);
  wrong[wrong.length - 1]! ^= 1;
  for (const [id, expected, good] of [['file-digest-ok.bin', data, true], ['file-digest-bad.bin', wrong, false]] as const) {
    // 5 MiB and 6 MiB chunks: parts and tails, through every instance; the last POST declares the digest.
    const sizes = [5 * MiB, 6 * MiB + 3, 5 * MiB];
    let at = 0;
    for (let i = 0; at < data.length; i++) {
      const chunk = data.subarray(at, at + (sizes[i] ?? data.length));
      const last = at + chunk.length === data.length;
      const extra: Record<string, string> = last ? { 'X-File-Digest': fileDigest(expected) } : {};
      const r = await post(nodes[i % 3]!.url, id, at, chunk, { 'X-File-Size': String(data.length), ...extra });
      at += chunk.length;
      if (last && !good) {
        // Bytes that are not the file never complete; the partial is dropped and the client starts over.
        expect(r).toMatchObject({ status: 422, code: 'FILE_DIGEST_MISMATCH' });
        expect(await offsetAt(nodes[0]!, id)).toBe(0);
      } else {
        expect(r).toMatchObject({ status: 200, offset: at, complete: last });
      }
    }
    if (good) expect(await completedSha256(client, prefix, id)).toBe(sha256(data));
  }
});

it('a newer request on another instance takes over a stalled one within seconds; bytes sent on the old connection after that never land', async () => {
  const [a, b, c] = nodes as [Listening, Listening, Listening];
  const id = 'takeover.bin';
  const data = randomData(24 * MiB);
  const headers = { 'X-File-Id': id, 'X-File-Size': String(data.length), 'X-Start-Byte': '0' };
  const old = await openPost(a.url, headers, data.length, data.subarray(0, 10 * MiB));
  // A has stored and committed its first 8 MiB part: the request is live, then stalls.
  await waitFor(async () => ((await committedOffset(client, prefix, id)) ?? 0) >= 8 * MiB, 60_000);
  const t0 = performance.now();
  // A newer request through B (its client lost track: start 0) takes over, then re-syncs.
  const resync = await post(b.url, id, 0, new Uint8Array(0), { 'X-File-Size': String(data.length) });
  const latency = performance.now() - t0;
  console.log(`cross-instance takeover of a live stalled request: ${latency.toFixed(0)} ms`);
  expect(resync).toMatchObject({ status: 409, code: 'OFFSET_MISMATCH' });
  const held = resync.offset!;
  // A kept what it had received (at least its committed part) and answered BUSY.
  expect(held).toBeGreaterThanOrEqual(8 * MiB);
  expect(held).toBeLessThanOrEqual(10 * MiB);
  expect(await answerOf(old.received)).toMatchObject({ status: 409, code: 'BUSY' });
  expect(latency).toBeLessThan(10_000);
  // Different bytes on the old connection: none may count.
  old.socket.write(Buffer.alloc(2 * MiB, 0xee));
  old.socket.destroy();
  for (const n of nodes) expect(await offsetAt(n, id)).toBe(held);
  await finish(c, id, data);
});

it('an instance paused past the lease expiry is fenced: nothing it received lands after the takeover', async () => {
  const [a, b, c] = nodes as [Listening, Listening, Listening];
  const id = 'paused.bin';
  const data = randomData(16 * MiB);
  const old = await openPost(a.url, { 'X-File-Id': id, 'X-File-Size': String(data.length), 'X-Start-Byte': '0' }, data.length, data.subarray(0, 3 * MiB));
  // A holds the lease and has written its fence (the manifest exists): it is reading the body.
  await waitFor(async () => (await committedOffset(client, prefix, id)) !== undefined, 60_000);
  process.kill(a.process.pid!, 'SIGSTOP');
  try {
    // B sees A's lease unchanged for the lease TTL, takes over and writes 6 MiB.
    const r = await post(b.url, id, 0, data.subarray(0, 6 * MiB), { 'X-File-Size': String(data.length) });
    expect(r).toMatchObject({ status: 200, offset: 6 * MiB });
  } finally {
    process.kill(a.process.pid!, 'SIGCONT');
  }
  // A wakes up with 3 MiB in memory and gets the rest of its body: enough for parts and a tail.
  old.socket.write(data.subarray(3 * MiB));
  expect(await answerOf(old.received)).toMatchObject({ status: 409, code: 'BUSY' });
  old.socket.destroy();
  for (const n of nodes) expect(await offsetAt(n, id)).toBe(6 * MiB);
  await finish(c, id, data);
});

it('SIGKILL of an instance mid-upload: the upload resumes through another from the durable offset', async () => {
  const id = 'killed.bin';
  const data = randomData(30 * MiB);
  const victim = nodes[0]!;
  const old = await openPost(victim.url, { 'X-File-Id': id, 'X-File-Size': String(data.length), 'X-Start-Byte': '0' }, data.length, data.subarray(0, 20 * MiB));
  await waitFor(async () => ((await committedOffset(client, prefix, id)) ?? 0) >= 16 * MiB, 60_000);
  await victim.kill('SIGKILL');
  old.socket.destroy();
  nodes[0] = await startInstance(prefix);
  const held = await offsetAt(nodes[1]!, id);
  expect(held).toBeGreaterThanOrEqual(16 * MiB);
  expect(held).toBeLessThanOrEqual(20 * MiB);
  // The dead instance's lease expires; then the rest goes through another instance.
  await finish(nodes[2]!, id, data);
});

it('DELETE through one instance removes an upload written through another, parts and tail included', async () => {
  const id = 'cancelled.bin';
  const key = storageKey({ namespace: '', id });
  const data = randomData(11 * MiB);
  expect(await post(nodes[0]!.url, id, 0, data, { 'X-File-Size': String(20 * MiB) })).toMatchObject({ status: 200, offset: 11 * MiB });
  expect((await call(`${nodes[1]!.url}/upload`, { method: 'DELETE', headers: { 'X-File-Id': id } })).status).toBe(204);
  for (const n of nodes) expect(await offsetAt(n, id)).toBe(0);
  const uploads = await client.send(new ListMultipartUploadsCommand({ Bucket: s3Env().bucket, Prefix: `${prefix}complete/${key}` }));
  expect(uploads.Uploads ?? []).toEqual([]);
  // Only the tombstone manifest is left of it under partial/ (no tail).
  expect((await keysUnder(client, `${prefix}partial/`)).filter((k) => k.includes(key))).toEqual([expect.stringMatching(new RegExp(`/${key}\\.json$`))]);
  // Idempotent, and the id can start over.
  expect((await call(`${nodes[2]!.url}/upload`, { method: 'DELETE', headers: { 'X-File-Id': id } })).status).toBe(204);
  const again = randomData(2 * MiB);
  await finish(nodes[2]!, id, again);
});

it('20 concurrent uploads spread over the instances, each in digest-checked chunks through all three', async () => {
  const files = Array.from({ length: 20 }, (_, i) => ({ id: `concurrent-${i}.bin`, data: randomData(6 * MiB + i * 1001) }));
  await Promise.all(
    files.map(async ({ id, data }, i) => {
      const step = 2 * MiB + 7;
      for (let at = 0, k = i; at < data.length; k++) {
        const chunk = data.subarray(at, at + step);
        const r = await post(nodes[k % 3]!.url, id, at, chunk, { 'X-File-Size': String(data.length), 'Content-Digest': digestOf(chunk) });
        expect(r.status).toBe(200);
        at += chunk.length;
      }
    }),
  );
  for (const { id, data } of files) expect(await completedSha256(client, prefix, id)).toBe(sha256(data));
});

describe('every instance restarted', () => {
  it('keeps partial uploads: status and resume work through the new processes', async () => {
    const id = 'restarted.bin';
    const data = randomData(13 * MiB + 3);
    expect(await post(nodes[1]!.url, id, 0, data.subarray(0, 9 * MiB + 1), { 'X-File-Size': String(data.length) })).toMatchObject({ status: 200 });
    await Promise.all(nodes.map((n) => n.kill('SIGTERM')));
    nodes = await Promise.all([0, 1, 2].map(() => startInstance(prefix)));
    for (const n of nodes) expect(await offsetAt(n, id)).toBe(9 * MiB + 1);
    await finish(nodes[0]!, id, data);
  });
});
