// Server instances as separate processes (the CLI, from source, under node itself so SIGKILL and
// SIGSTOP hit the server), all on one bucket prefix of the test cluster.
import { GetObjectCommand, ListObjectsV2Command, type S3Client } from '@aws-sdk/client-s3';
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { storageKey } from '../../server/index.js';
import { offsetOf, placeOf, type Manifest } from '../../server/s3/manifest.js';
import { spawnListening, type Listening } from '../../lab/processes.js';
import { s3Env } from './s3-env.js';

const root = join(import.meta.dirname, '..', '..');

export function startInstance(prefix: string, extraEnv: Record<string, string> = {}): Promise<Listening> {
  const { env, bucket } = s3Env();
  return spawnListening(
    process.execPath,
    ['--import', 'tsx', join(root, 'server', 'cli.ts')],
    { ...env, PORT: '0', HOST: '127.0.0.1', STORAGE_URL: `s3://${bucket}/${prefix}`, STATIC_DIR: join(root, 'no-static'), ...extraEnv },
    60_000,
  );
}

/** SHA-256 (hex) of the finished file of an upload, read straight from the bucket. */
export async function completedSha256(client: S3Client, prefix: string, id: string, namespace = ''): Promise<string> {
  const out = await client.send(new GetObjectCommand({ Bucket: s3Env().bucket, Key: `${prefix}complete/${storageKey({ namespace, id })}` }));
  const hash = createHash('sha256');
  for await (const chunk of out.Body as AsyncIterable<Uint8Array>) hash.update(chunk);
  return hash.digest('hex');
}

/** Every object key under a prefix. */
export async function keysUnder(client: S3Client, prefix: string): Promise<string[]> {
  const keys: string[] = [];
  let token: string | undefined;
  do {
    const out = await client.send(new ListObjectsV2Command({ Bucket: s3Env().bucket, Prefix: prefix, ...(token ? { ContinuationToken: token } : {}) }));
    for (const o of out.Contents ?? []) if (o.Key) keys.push(o.Key);
    token = out.IsTruncated ? out.NextContinuationToken : undefined;
  } while (token);
  return keys;
}

/**
 * The offset an upload's manifest commits, read straight from the bucket: watching it does not
 * take the upload over, as a GET /status would (status is a takeover point).
 */
export async function committedOffset(client: S3Client, prefix: string, id: string, namespace = ''): Promise<number | undefined> {
  const p = placeOf({ namespace, id });
  try {
    const out = await client.send(new GetObjectCommand({ Bucket: s3Env().bucket, Key: `${prefix}partial/${p.group}/${p.key}.json` }));
    return offsetOf(JSON.parse(await out.Body!.transformToString()) as Manifest);
  } catch (err) {
    if ((err as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode === 404) return undefined;
    throw err;
  }
}
