// One writer's view of an upload's manifest: each change is a conditional write on the ETag it
// last saw, so a writer that was taken over (another wrote since) fails its next write with BUSY
// and nothing it still holds lands.
import { randomUUID } from 'node:crypto';
import { UploadServerError } from '../errors.js';
import type { Bucket, Stored } from './bucket.js';
import { offsetOf, type Layout, type Manifest } from './manifest.js';

/** S3's limit on part numbers. */
export const MAX_PARTS = 10_000;

export class ManifestSession {
  readonly #bucket: Bucket;
  readonly #layout: Layout;
  readonly key: string;
  readonly token = randomUUID();
  #state: Manifest;
  #etag: string | undefined;

  constructor(bucket: Bucket, layout: Layout, key: string, start: Stored<Manifest> | undefined, fresh: Manifest) {
    this.#bucket = bucket;
    this.#layout = layout;
    this.key = key;
    this.#state = start?.value ?? fresh;
    this.#etag = start?.etag;
  }

  get manifest(): Manifest {
    return this.#state;
  }

  get offset(): number {
    return offsetOf(this.#state);
  }

  /**
   * Writes `next` (with this writer's token) if the manifest is still the one last seen; creates
   * it when there was none. BUSY (with the offset last seen) when another writer got there first.
   */
  async write(next: Omit<Manifest, 'writer'>): Promise<void> {
    const value: Manifest = { ...next, writer: this.token };
    const etag = await this.#bucket.putJson(
      this.#layout.manifest(this.key),
      value,
      this.#etag === undefined ? { ifNoneMatch: '*' } : { ifMatch: this.#etag },
    );
    if (etag === undefined) {
      throw new UploadServerError('BUSY', 'another request for this upload took over', { offset: this.offset });
    }
    this.#state = value;
    this.#etag = etag;
  }

  /**
   * A part number no other writer has or will get: reserved by a manifest write just before the
   * part is uploaded (one write per part, but no number is ever wasted on a part that does not
   * come). Starts the multipart upload on first use.
   */
  async partNumber(): Promise<{ n: number; uploadId: string }> {
    const m = this.#state;
    if (m.reserved >= MAX_PARTS) throw new UploadServerError('TOO_LARGE', `S3 allows at most ${MAX_PARTS} parts per upload`, { offset: this.offset });
    const uploadId = m.uploadId ?? (await this.#bucket.createMultipart(this.#layout.data(this.key)));
    await this.write({ ...m, uploadId, reserved: m.reserved + 1 });
    return { n: m.reserved + 1, uploadId };
  }
}
