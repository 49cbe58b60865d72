// STORAGE_URL for the CLI: `s3://<bucket>/<prefix>` selects S3 storage, with the client built from
// the standard AWS variables. (Unset: the disk store in UPLOAD_DIR.)
import { parseS3Url, s3ClientFromEnv } from './s3-config.js';
import { S3Storage } from './s3-storage.js';

/** The storage a STORAGE_URL names, or undefined when it is not an s3:// URL. */
export function storageFromUrl(url: string): S3Storage | undefined {
  const at = parseS3Url(url);
  return at && new S3Storage({ client: s3ClientFromEnv(), bucket: at.bucket, prefix: at.prefix });
}
