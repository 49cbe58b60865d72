import { UploadServerError } from './errors.js';

/** The right to write one upload; `signal` aborts when a newer request takes over. */
export interface Lease {
  readonly signal: AbortSignal;
  release(): void;
}

/**
 * Who may write which upload: one writer per upload, newest wins. The protocol takes a lease
 * around every append, completion and removal. WriterLocks (one process) is the default; storage
 * shared by several processes brings its own (S3Storage's leases live in the bucket).
 */
export interface UploadLocks {
  /** Takes the lease, ending the current holder (its `signal` aborts) and waiting for its release. */
  acquire(key: string): Promise<Lease>;
  /** The lease if nobody holds `key` here, else undefined; never ends a holder (for the sweep). */
  tryAcquire(key: string): Lease | undefined;
}

interface Holder {
  readonly controller: AbortController;
  readonly released: Promise<void>;
}

/**
 * One writer per upload, newest wins: a client that lost its connection reconnects before the
 * server noticed, and must not wait for the dead request. acquire() aborts the current holder
 * (its body read ends, what it delivered is kept) and resolves once it has released.
 */
export class WriterLocks implements UploadLocks {
  private readonly holders = new Map<string, Holder>();

  async acquire(key: string): Promise<Lease> {
    const previous = this.holders.get(key);
    // Registered at once, so an even newer request aborts this one while it still waits.
    const lease = this.register(key);
    if (previous) {
      previous.controller.abort(new UploadServerError('BUSY'));
      await previous.released;
    }
    return lease;
  }

  /**
   * The lease if nobody holds `key`, else undefined; never aborts a holder. For background work
   * (the sweep) that must step aside for writers; a request arriving later still takes over.
   */
  tryAcquire(key: string): Lease | undefined {
    return this.holders.has(key) ? undefined : this.register(key);
  }

  private register(key: string): Lease {
    const controller = new AbortController();
    let release!: () => void;
    const released = new Promise<void>((r) => {
      release = r;
    });
    const mine: Holder = { controller, released };
    this.holders.set(key, mine);
    let done = false;
    return {
      signal: controller.signal,
      release: () => {
        if (done) return;
        done = true;
        if (this.holders.get(key) === mine) this.holders.delete(key);
        release();
      },
    };
  }

  isHeld(key: string): boolean {
    return this.holders.has(key);
  }
}
