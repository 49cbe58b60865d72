// Checkpoint fsyncs of the disk store: while a body without a Content-Digest streams in, what has
// been written is made durable now and then, beside the writes, so status() (GET /progress) reports
// it before the body ends. When to sync is a pure policy; the clock and the fsync are the store's.

export interface CheckpointPolicy {
  /** Bytes written since the last durable point that make a checkpoint due, once `ms` have passed since the last one started. */
  readonly bytes: number;
  readonly ms: number;
  /** Bytes written since the last durable point that make a checkpoint due whatever the time. */
  readonly maxBytes: number;
}

export const DEFAULT_CHECKPOINT: CheckpointPolicy = { bytes: 1024 * 1024, ms: 500, maxBytes: 64 * 1024 * 1024 };

/** Whether to fsync now: `undurable` bytes written since the last durable point, `sinceMs` since the last checkpoint started. */
export function checkpointDue(policy: CheckpointPolicy, undurable: number, sinceMs: number): boolean {
  return undurable > 0 && (undurable >= policy.maxBytes || (undurable >= policy.bytes && sinceMs >= policy.ms));
}

/** What the write loop tells of its progress, and what may stop it. */
export interface WriteProgress {
  /** `written` bytes of the body are on the file: their writes completed. */
  written(written: number): void;
  /** Writing must stop (a checkpoint failed). */
  readonly stopped: boolean;
  /** No checkpoint starts any more; resolves once none runs. */
  close(): Promise<void>;
}

/**
 * The checkpoints of one append, from `start` (already durable). At most one fsync runs at a time,
 * beside the writes; the offset it makes durable counts the bytes whose writes had completed when
 * it started. Once one fails, writing stops and `failure` says why: the caller cuts back to `durable`.
 */
export class Checkpoints implements WriteProgress {
  readonly #policy: CheckpointPolicy;
  readonly #now: () => number;
  readonly #sync: () => Promise<void>;
  readonly #reached: (offset: number) => void;
  readonly #start: number;
  /** Bytes of the body whose writes completed. */
  #written = 0;
  /** Bytes of the body made durable. */
  #synced = 0;
  #lastStart: number;
  #running: Promise<void> | undefined;
  #closed = false;
  #failure: { readonly error: unknown } | undefined;

  constructor(options: {
    policy: CheckpointPolicy;
    now: () => number;
    sync: () => Promise<void>;
    /** Told each offset made durable, as it is. */
    reached: (offset: number) => void;
    start: number;
  }) {
    this.#policy = options.policy;
    this.#now = options.now;
    this.#sync = options.sync;
    this.#reached = options.reached;
    this.#start = options.start;
    this.#lastStart = options.now();
  }

  /** The last offset made durable (the append's start until a checkpoint succeeds). */
  get durable(): number {
    return this.#start + this.#synced;
  }

  /** Set once a checkpoint failed. */
  get failure(): { readonly error: unknown } | undefined {
    return this.#failure;
  }

  get stopped(): boolean {
    return this.#failure !== undefined;
  }

  written(written: number): void {
    this.#written = Math.max(this.#written, written);
    this.#next();
  }

  async close(): Promise<void> {
    this.#closed = true;
    while (this.#running) await this.#running;
  }

  #next(): void {
    if (this.#running || this.#closed || this.#failure) return;
    const now = this.#now();
    if (!checkpointDue(this.#policy, this.#written - this.#synced, now - this.#lastStart)) return;
    const upTo = this.#written;
    this.#lastStart = now;
    // A seam that throws at once fails like one that rejects.
    this.#running = new Promise<void>((resolve) => resolve(this.#sync())).then(
      () => {
        this.#synced = upTo;
        this.#reached(this.#start + upTo);
      },
      (error: unknown) => {
        this.#failure = { error };
      },
    );
    void this.#running.finally(() => {
      this.#running = undefined;
      // Bytes may have landed while it ran.
      this.#next();
    });
  }
}
