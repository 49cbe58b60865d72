// STORAGE_URL for the CLI: `s3://<bucket>/<prefix>` selects S3 storage, with the client built from
// the standard AWS variables. (Unset: the disk store in UPLOAD_DIR.)
import { UploadServerError } from '../errors.js';
import { parseS3Url, s3ClientFromEnv } from './s3-config.js';
import { S3Storage } from './s3-storage.js';

export function storageFromUrl(url: string): S3Storage {
  const at = parseS3Url(url);
  if (!at) throw new UploadServerError('INTERNAL', `STORAGE_URL must look like s3://<bucket>/<prefix>, got ${JSON.stringify(url)}`);
  return new S3Storage({ client: s3ClientFromEnv(), bucket: at.bucket, prefix: at.prefix });
}
