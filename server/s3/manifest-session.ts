// One writer's view of an upload's manifest: each change is a conditional write on the ETag it
// last saw, so a writer that was taken over (another wrote since) fails its next write with BUSY
// and nothing it still holds lands.
import { randomUUID } from 'node:crypto';
import { UploadServerError } from '../errors.js';
import type { Bucket, Stored } from './bucket.js';
import { offsetOf, type Layout, type Manifest, type UploadPlace } from './manifest.js';

/** S3's limit on part numbers. */
export const MAX_PARTS = 10_000;

export class ManifestSession {
  readonly #bucket: Bucket;
  readonly #layout: Layout;
  readonly place: UploadPlace;
  readonly token = randomUUID();
  #state: Manifest;
  #etag: string | undefined;
  #queue: Promise<void> = Promise.resolve();
  #starting: Promise<string> | undefined;

  constructor(bucket: Bucket, layout: Layout, place: UploadPlace, start: Stored<Manifest> | undefined, fresh: Manifest) {
    this.#bucket = bucket;
    this.#layout = layout;
    this.place = place;
    this.#state = start?.value ?? fresh;
    this.#etag = start?.etag;
  }

  /** The upload's storage key. */
  get key(): string {
    return this.place.key;
  }

  get manifest(): Manifest {
    return this.#state;
  }

  get offset(): number {
    return offsetOf(this.#state);
  }

  /**
   * Replaces the manifest with `change(current)` (stamped with this writer's token) if it is still
   * the one last seen; creates it when there was none. BUSY (with the offset last seen) when
   * another writer got there first. Updates run one at a time, each on the state the previous
   * one left, so parts stored concurrently are reserved and committed in order.
   */
  update(change: (m: Manifest) => Omit<Manifest, 'writer'>): Promise<Manifest> {
    const run = this.#queue.then(async () => {
      const value: Manifest = { ...change(this.#state), writer: this.token };
      const etag = await this.#bucket.putJson(
        this.#layout.manifest(this.place),
        value,
        this.#etag === undefined ? { ifNoneMatch: '*' } : { ifMatch: this.#etag },
      );
      if (etag === undefined) {
        throw new UploadServerError('BUSY', 'another request for this upload took over', { offset: this.offset });
      }
      this.#state = value;
      this.#etag = etag;
      return value;
    });
    // The next update waits for this one, success or failure (after a failure its conditional
    // write fails too: the ETag it would use is the one that was refused).
    this.#queue = run.then(
      () => undefined,
      () => undefined,
    );
    return run;
  }

  /**
   * A part number no other writer has or will get: reserved by a manifest write just before the
   * part is uploaded (one write per part, but no number is ever wasted on a part that does not
   * come). Starts the multipart upload on first use.
   */
  async partNumber(): Promise<{ n: number; uploadId: string }> {
    if (this.#state.uploadId === undefined) {
      // Before any part of this writer exists; stored in the manifest by the reservation below.
      this.#starting ??= this.#bucket.createMultipart(this.#layout.data(this.key));
    }
    const uploadId = this.#state.uploadId ?? (await this.#starting!);
    const m = await this.update((cur) => {
      if (cur.reserved >= MAX_PARTS) throw new UploadServerError('TOO_LARGE', `S3 allows at most ${MAX_PARTS} parts per upload`, { offset: offsetOf(cur) });
      return { ...cur, uploadId: cur.uploadId ?? uploadId, reserved: cur.reserved + 1 };
    });
    return { n: m.reserved, uploadId: m.uploadId! };
  }
}
