// Writer leases across server instances, kept in the bucket itself (<prefix>leases/<key>), on
// conditional writes only: no coordinator of our own, no clock shared between machines.
//
// - The holder renews its lease every renewMs (a conditional write that changes it).
// - A newer request writes a takeover request into the lease. The holder's next renewal fails on
//   the changed ETag, it re-reads, sees the request and aborts its own request (which stops reading
//   and commits what it delivered), then releases. The newer request then claims the lease.
// - A holder that stops renewing (killed, paused, cut off from the bucket) is taken over once the
//   waiter has seen the lease unchanged for ttlMs on its own clock (never by comparing clocks). A
//   holder that is alive but does not let go within the takeover timeout makes the newer request
//   fail with UNAVAILABLE, as in one process: nobody passes a holder that still renews.
// Leases give liveness only. Safety does not depend on them: a writer that still believes it holds
// a lease it lost is fenced by the upload's manifest (its next conditional write fails).
import { randomUUID } from 'node:crypto';
import { UploadServerError } from '../errors.js';
import { WriterLocks, type Lease, type UploadLocks } from '../locks.js';
import { systemWallClock, type WallClock } from '../types.js';
import type { Bucket } from './bucket.js';
import type { Layout } from './manifest.js';

export interface LeaseTimings {
  /** How often a holder renews: also how soon it learns of a takeover request. Default 1 s. */
  readonly renewMs: number;
  /** How long a waiter watches a lease unchanged before it treats the holder as gone. Default 8 s. */
  readonly ttlMs: number;
  /** How often a waiter looks at the lease. Default 250 ms. */
  readonly pollMs: number;
}

export const DEFAULT_LEASE_TIMINGS: LeaseTimings = { renewMs: 1000, ttlMs: 8000, pollMs: 250 };

interface LeaseRecord {
  readonly holder: string | null;
  /** Changes with every write, so each renewal gives the lease a new ETag. */
  readonly beat: number;
  /** The newest request waiting to take over. */
  readonly takeover?: string;
}

export class S3Leases implements UploadLocks {
  readonly #local = new WriterLocks();
  readonly #bucket: Bucket;
  readonly #layout: Layout;
  readonly #t: LeaseTimings;
  readonly #clock: WallClock;
  readonly #ready: () => Promise<void>;

  /** `ready` is the storage's init(): the bucket probe tells how conditional writes must be sent. */
  constructor(bucket: Bucket, layout: Layout, ready: () => Promise<void>, timings: Partial<LeaseTimings> = {}, clock: WallClock = systemWallClock) {
    this.#bucket = bucket;
    this.#ready = ready;
    this.#layout = layout;
    this.#t = { ...DEFAULT_LEASE_TIMINGS, ...timings };
    this.#clock = clock;
  }

  /**
   * Newest wins: in this process first (WriterLocks, immediate), then across instances through
   * the bucket. Resolves with an aborted signal when an even newer request took over meanwhile.
   */
  async acquire(key: string, timeoutMs: number): Promise<Lease> {
    const local = await this.#local.acquire(key, timeoutMs);
    if (local.signal.aborted) return local;
    try {
      await this.#ready();
      // Never shorter than it takes to know a silent holder gone, or a dead one would block forever.
      return await this.#acquireShared(key, local, Math.max(timeoutMs, this.#t.ttlMs + 2 * this.#t.pollMs));
    } catch (err) {
      local.release();
      throw err;
    }
  }

  /** In this process only: the sweep's own manifest write fences writers elsewhere. */
  tryAcquire(key: string): Lease | undefined {
    return this.#local.tryAcquire(key);
  }

  async #acquireShared(key: string, local: Lease, waitMs: number): Promise<Lease> {
    const objectKey = this.#layout.lease(key);
    const token = randomUUID();
    const started = this.#clock.now();
    let watched: { etag: string; since: number } | undefined;
    let asked = false;
    for (;;) {
      if (local.signal.aborted) return local;
      if (this.#clock.now() - started > waitMs) {
        throw new UploadServerError('UNAVAILABLE', `a request on another instance has not let go of this upload after ${waitMs} ms; try again`);
      }
      const cur = await this.#bucket.getJson<LeaseRecord>(objectKey);
      if (!cur) {
        const etag = await this.#bucket.putJson(objectKey, { holder: token, beat: 0 } satisfies LeaseRecord, { ifNoneMatch: '*' });
        if (etag !== undefined) return this.#held(objectKey, token, { etag, beat: 0 }, local);
        continue;
      }
      const r = cur.value;
      const now = this.#clock.now();
      // A newer request (on some instance) asked after us: it wins.
      if (asked && r.takeover !== token) return aborted(local, new UploadServerError('BUSY'));
      if (watched?.etag !== cur.etag) watched = { etag: cur.etag, since: now };
      const silent = now - watched.since >= this.#t.ttlMs;
      // A released lease goes to the request that asked for it (or to anyone, if none did).
      const free = r.holder === null && (r.takeover === undefined || r.takeover === token);
      if (free || silent) {
        const beat = r.beat + 1;
        const etag = await this.#bucket.putJson(objectKey, { holder: token, beat } satisfies LeaseRecord, { ifMatch: cur.etag });
        if (etag !== undefined) return this.#held(objectKey, token, { etag, beat }, local);
        continue;
      }
      if (r.takeover !== token) {
        const etag = await this.#bucket.putJson(objectKey, { ...r, beat: r.beat + 1, takeover: token } satisfies LeaseRecord, { ifMatch: cur.etag });
        if (etag !== undefined) {
          asked = true;
          watched = { etag, since: this.#clock.now() };
        }
        continue;
      }
      await sleep(this.#t.pollMs, local.signal);
    }
  }

  #held(objectKey: string, token: string, first: { etag: string; beat: number }, local: Lease): Lease {
    const controller = new AbortController();
    const bucket = this.#bucket;
    let cur = first;
    let takeover: string | undefined;
    let lastRenewed = this.#clock.now();
    let released = false;
    let given = false;
    let timer: NodeJS.Timeout | undefined;
    let renewing: Promise<void> = Promise.resolve();

    const renew = async (): Promise<void> => {
      try {
        const next: LeaseRecord = { holder: token, beat: cur.beat + 1, ...(takeover === undefined ? {} : { takeover }) };
        const etag = await bucket.putJson(objectKey, next, { ifMatch: cur.etag });
        if (etag !== undefined) {
          cur = { etag, beat: next.beat };
          lastRenewed = this.#clock.now();
          return;
        }
        const now = await bucket.getJson<LeaseRecord>(objectKey);
        if (!now || now.value.holder !== token) {
          controller.abort(new UploadServerError('BUSY', 'another instance took this upload over'));
          released = true;
          return;
        }
        cur = { etag: now.etag, beat: now.value.beat };
        takeover = now.value.takeover;
        // Keep renewing until released, so the waiter knows the flush is still going on.
        if (takeover !== undefined) controller.abort(new UploadServerError('BUSY'));
      } catch {
        // Cut off from the bucket for a whole TTL: others may take over, so stop writing now.
        if (this.#clock.now() - lastRenewed >= this.#t.ttlMs) {
          controller.abort(new UploadServerError('UNAVAILABLE', 'the object store did not answer; retry later'));
        }
      }
    };
    const schedule = (): void => {
      if (released) return;
      timer = setTimeout(() => {
        renewing = renew().finally(schedule);
      }, this.#t.renewMs);
      timer.unref();
    };
    schedule();

    const giveBack = async (): Promise<void> => {
      await renewing;
      for (let attempt = 0; attempt < 3; attempt++) {
        const next: LeaseRecord = { holder: null, beat: cur.beat + 1, ...(takeover === undefined ? {} : { takeover }) };
        const etag = await bucket.putJson(objectKey, next, { ifMatch: cur.etag });
        if (etag !== undefined) return;
        const now = await bucket.getJson<LeaseRecord>(objectKey);
        if (!now || now.value.holder !== token) return;
        cur = { etag: now.etag, beat: now.value.beat };
        takeover = now.value.takeover;
      }
    };
    return {
      signal: AbortSignal.any([local.signal, controller.signal]),
      release: () => {
        if (given) return;
        given = true;
        const wasLost = released;
        released = true;
        clearTimeout(timer);
        timer = undefined;
        // A release that cannot reach the bucket leaves the lease to expire (ttlMs).
        const back = wasLost ? Promise.resolve() : giveBack().catch(() => undefined);
        void back.finally(() => local.release());
      },
    };
  }
}

function aborted(local: Lease, reason: unknown): Lease {
  const controller = new AbortController();
  controller.abort(reason);
  return { signal: AbortSignal.any([local.signal, controller.signal]), release: () => local.release() };
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const done = (): void => {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal.addEventListener('abort', done, { once: true });
  });
}
