// What the s3 tests get from the global setup: the AWS variables of the test cluster and a bucket.
import { S3Client } from '@aws-sdk/client-s3';
import { randomUUID } from 'node:crypto';
import { inject } from 'vitest';
import { s3ClientFromEnv } from '../../server/index.js';

export const TEST_BUCKET = 'ru-tests';

export interface S3TestEnv {
  readonly env: Readonly<Record<string, string>>;
  readonly bucket: string;
}

declare module 'vitest' {
  export interface ProvidedContext {
    s3: S3TestEnv;
  }
}

export function s3Env(): S3TestEnv {
  return inject('s3');
}

/**
 * A client built the way the CLI builds it: from the standard AWS variables, which the SDK reads
 * from process.env (each test file runs in its own worker process).
 */
export function testClient(): S3Client {
  Object.assign(process.env, s3Env().env);
  return s3ClientFromEnv();
}

/** A prefix no other test uses, so each test sees an empty store. */
export function freshPrefix(label: string): string {
  return `t/${label}-${randomUUID().slice(0, 8)}/`;
}
