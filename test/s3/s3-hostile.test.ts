// Hostile ids and namespaces on S3 storage: every object lands under the prefix, named by the
// layout (hashes only). A bucket of its own, so "nothing outside the prefix" covers the whole bucket.
import { afterAll, beforeAll, expect, it } from 'vitest';
import { CreateBucketCommand, ListObjectsV2Command, type S3Client } from '@aws-sdk/client-s3';
import { randomUUID } from 'node:crypto';
import { S3Storage, startServer, type RunningServer } from '../../server/index.js';
import { call, post, randomData, status } from '../server/client.js';
import { testClient } from './s3-env.js';

const bucket = `ru-hostile-${randomUUID().slice(0, 8)}`;
const PREFIX = 'inside/';
const LAYOUT = /^inside\/(partial\/[0-9a-f]{64}\/[0-9a-f]{64}(\.json|\/tail-[0-9a-f-]{36})|complete\/[0-9a-f]{64}(\.json)?|(notify\/[0-9a-f]{64}\.json)|leases\/[0-9a-f]{64})$/;

let client: S3Client;
let server: RunningServer;
beforeAll(async () => {
  client = testClient();
  await client.send(new CreateBucketCommand({ Bucket: bucket }));
  server = await startServer({
    storage: new S3Storage({ client, bucket, prefix: PREFIX }),
    // The namespace is whatever the request says: as hostile as an id.
    authorize: (req) => req.headers['x-namespace'] ?? '',
    sweepIntervalMs: 0,
  });
});
afterAll(async () => {
  await server.close();
  client.destroy();
});

const hostile = [
  '../../../etc/passwd',
  '..',
  '/absolute/key',
  'inside/../outside',
  '%2e%2e%2f%2e%2e%2fescape',
  'a\\b\\..\\..\\c',
  'a b',
  '*',
  'é'.repeat(100),
  'x'.repeat(1024),
  '?versionId=1&uploads',
  'complete/../partial/x.json',
];

/** [short label for the test name, value]. */
const labelled = hostile.map((v) => [v.length > 40 ? `${v.slice(0, 12)}… (${v.length} chars)` : v, v]);

/** Header values carry printable ASCII as is; anything else percent-encoded (as the page library sends names). */
const asHeader = (s: string): string => (/^[\x20-\x7e]+$/.test(s) ? s : encodeURIComponent(s));

it.each(labelled)('id %j stays under the prefix', async (_label, id) => {
  const data = randomData(1000);
  expect(await post(server.url, asHeader(id), 0, data, { 'X-File-Size': '1000' })).toMatchObject({ status: 200, complete: true });
});

it.each(labelled)('namespace %j stays under the prefix', async (_label, ns) => {
  const headers = { 'X-Namespace': asHeader(ns) };
  expect(await post(server.url, 'same-id', 0, randomData(10), { 'X-File-Size': '20', ...headers })).toMatchObject({ status: 200, offset: 10 });
  expect((await status(server.url, 'same-id', headers)).body).toBe('10');
  expect((await call(`${server.url}/upload`, { method: 'DELETE', headers: { 'X-File-Id': 'same-id', ...headers } })).status).toBe(204);
});

it('wrote nothing outside the prefix, and only names of the layout', async () => {
  const out = await client.send(new ListObjectsV2Command({ Bucket: bucket }));
  const keys = (out.Contents ?? []).map((o) => o.Key!);
  expect(keys.length).toBeGreaterThan(hostile.length);
  for (const k of keys) expect(k).toMatch(LAYOUT);
});
