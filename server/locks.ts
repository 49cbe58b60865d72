import { settlesWithin } from './deadline.js';
import { UploadServerError } from './errors.js';

/** The right to write one upload; `signal` aborts when a newer request takes over. */
export interface Lease {
  readonly signal: AbortSignal;
  release(): void;
}

/**
 * Who may write which upload: one writer per upload, newest wins. Every protocol's takeover points
 * acquire; background work only tries. WriterLocks (one process) is the default; storage shared by
 * several processes brings its own (S3Storage's leases live in the bucket).
 */
export interface UploadLocks {
  /**
   * Ends the current holder of `key` (its `signal` aborts) and resolves once it has let go; rejects
   * with UNAVAILABLE when it does not within `timeoutMs` (a shared lock may wait longer for a holder
   * elsewhere to be known gone).
   */
  acquire(key: string, timeoutMs: number): Promise<Lease>;
  /** The lease if nobody holds `key` here, else undefined; never ends a holder. */
  tryAcquire(key: string): Lease | undefined;
}

interface Holder {
  readonly controller: AbortController;
  /** Settles once this holder and everyone before it have let go. */
  readonly released: Promise<void>;
}

/**
 * One writer per upload, newest wins: a client that lost its connection reconnects before the
 * server noticed, and must not wait for the dead request. Every protocol's takeover points (a
 * status query, an append, a cancel) acquire; background work (the sweep, completion retries) only
 * tries, and steps aside.
 */
export class WriterLocks implements UploadLocks {
  readonly #holders = new Map<string, Holder>();

  /**
   * Aborts the current holder of `key` (its body read ends, what it delivered is kept) and resolves
   * once it has let go. A holder stuck longer than `timeoutMs` (storage hanging) makes this reject
   * with UNAVAILABLE; the place in line is given up, but nobody gets past the stuck holder.
   */
  async acquire(key: string, timeoutMs: number): Promise<Lease> {
    const previous = this.#holders.get(key);
    // Registered at once, so an even newer request aborts this one while it still waits.
    const lease = this.#register(key, previous?.released);
    if (!previous) return lease;
    previous.controller.abort(new UploadServerError('BUSY'));
    if (await settlesWithin(previous.released, timeoutMs)) return lease;
    lease.release();
    throw new UploadServerError('UNAVAILABLE', `an earlier request for this upload has not let go after ${timeoutMs} ms; try again`);
  }

  /**
   * The lease if nobody holds `key`, else undefined; never aborts a holder. For background work
   * that must step aside for writers; a request arriving later still takes over.
   */
  tryAcquire(key: string): Lease | undefined {
    return this.#holders.has(key) ? undefined : this.#register(key, undefined);
  }

  #register(key: string, after: Promise<void> | undefined): Lease {
    const controller = new AbortController();
    let letGo!: () => void;
    const own = new Promise<void>((r) => {
      letGo = r;
    });
    const mine: Holder = { controller, released: after ? Promise.all([own, after]).then(() => undefined) : own };
    this.#holders.set(key, mine);
    let done = false;
    return {
      signal: controller.signal,
      release: () => {
        if (done) return;
        done = true;
        letGo();
        // Only once everyone before this holder let go too, or a newcomer could pass a stuck writer.
        void mine.released.then(() => {
          if (this.#holders.get(key) === mine) this.#holders.delete(key);
        });
      },
    };
  }
}
