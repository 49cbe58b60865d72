// How long a request may take before the loop gives up on it. Pure.

export interface TimeoutPolicy {
  /** Time allowed for any request, in ms. */
  readonly baseMs: number;
  /** Slowest upload rate still tolerated, in bytes/s: the body's share of the timeout. */
  readonly minBytesPerSecond: number;
}

/** 30 s plus 1 s per 64 KiB of body. */
export const DEFAULT_TIMEOUT_POLICY: TimeoutPolicy = { baseMs: 30_000, minBytesPerSecond: 64 * 1024 };

/** Once the rate is measured, a body may take this many times as long as that rate says. */
export const MEASURED_RATE_SLACK = 4;

/**
 * `baseMs` plus the body at the slowest tolerated rate, or, once this upload's rate was
 * measured, at a quarter of that rate (never slower than the minimum). Without the measurement
 * a 64 MiB chunk would get ~17.5 min before a hung server is noticed; at a measured 50 MB/s, 35 s.
 */
export function requestTimeoutMs(bodyBytes: number, policy: TimeoutPolicy = DEFAULT_TIMEOUT_POLICY, measuredBytesPerSecond?: number): number {
  const measured = measuredBytesPerSecond !== undefined && measuredBytesPerSecond > 0 ? measuredBytesPerSecond / MEASURED_RATE_SLACK : 0;
  const rate = Math.max(policy.minBytesPerSecond, measured);
  return Math.round(policy.baseMs + (bodyBytes * 1000) / rate);
}
