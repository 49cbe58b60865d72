// Where S3 storage comes from: STORAGE_URL=s3://<bucket>/<prefix> and the standard AWS variables.
// The SDK reads the variables itself (AWS_REGION, AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY,
// AWS_ENDPOINT_URL, AWS_REQUEST_CHECKSUM_CALCULATION, AWS_RESPONSE_CHECKSUM_VALIDATION, profiles…):
// nothing here overrides them, so what operators of Ceph, MinIO or R2 set is what is used.
import { S3Client } from '@aws-sdk/client-s3';

export interface S3Location {
  readonly bucket: string;
  /** Key prefix, '' or ending in '/'. */
  readonly prefix: string;
}

/** Parses `s3://bucket/some/prefix`; undefined for anything that is not an s3: URL. */
export function parseS3Url(url: string): S3Location | undefined {
  const m = /^s3:\/\/([^/]+)(?:\/(.*))?$/.exec(url);
  if (!m) return undefined;
  return { bucket: m[1]!, prefix: normalisePrefix(m[2] ?? '') };
}

export function normalisePrefix(prefix: string): string {
  const trimmed = prefix.replace(/^\/+/, '').replace(/\/+$/, '');
  return trimmed === '' ? '' : `${trimmed}/`;
}

/**
 * An S3 client configured from the environment. Path-style addressing for any endpoint that is
 * not AWS's own (Ceph, MinIO and most S3-compatible stores have no per-bucket host names);
 * a region is required by the signer, so a custom endpoint without one gets us-east-1.
 */
export function s3ClientFromEnv(): S3Client {
  const env = process.env;
  const endpoint = env['AWS_ENDPOINT_URL_S3'] ?? env['AWS_ENDPOINT_URL'];
  const custom = endpoint !== undefined && endpoint !== '' && !/\.amazonaws\.com(\.cn)?(:\d+)?(\/|$)/.test(endpoint);
  const region = env['AWS_REGION'] ?? env['AWS_DEFAULT_REGION'];
  return new S3Client({
    ...(custom ? { forcePathStyle: true } : {}),
    ...(region === undefined && custom ? { region: 'us-east-1' } : {}),
    // A connection that cannot be made fails in seconds (503 to the client, or a clear line at
    // start) instead of hanging a request; bodies stream for as long as they need.
    requestHandler: { connectionTimeout: 5_000, socketTimeout: 60_000 },
  });
}
