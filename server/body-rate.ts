// The minimum body rate, as a pure policy. Only time spent waiting on the client counts: while the
// server itself is slow (disk, fsync, a busy event loop elsewhere) the client is not blamed, so an
// honest upload of any length is never cut, and a body dripping a byte every few seconds — which
// an idle timeout alone never ends — is.

export interface BodyRatePolicy {
  /** Slowest average rate tolerated over a window, in bytes/s; 0 turns the check off. */
  readonly minBytesPerSecond: number;
  /** How much waiting on the client the average is taken over, in ms. */
  readonly windowMs: number;
}

export class BodyRate {
  readonly #policy: BodyRatePolicy;
  #waitedMs = 0;
  #bytes = 0;

  constructor(policy: BodyRatePolicy) {
    this.#policy = policy;
  }

  /**
   * Records a chunk of `bytes` that took `waitedMs` of waiting on the client. Returns false when a
   * window of waiting has closed below the minimum rate: the body should be ended.
   */
  record(bytes: number, waitedMs: number): boolean {
    if (this.#policy.minBytesPerSecond <= 0) return true;
    this.#bytes += bytes;
    this.#waitedMs += waitedMs;
    if (this.#waitedMs < this.#policy.windowMs) return true;
    const ok = this.#bytes * 1000 >= this.#policy.minBytesPerSecond * this.#waitedMs;
    this.#bytes = 0;
    this.#waitedMs = 0;
    return ok;
  }
}
