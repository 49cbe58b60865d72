// When to try again after a transient failure: exponential backoff with jitter, capped.

export interface RetryPolicy {
  /** Delay before the first retry, in ms. */
  readonly baseMs: number;
  /** Growth per further attempt. */
  readonly factor: number;
  /** Largest delay before jitter, in ms. */
  readonly maxMs: number;
  /** Share of the delay that is random: 0 = none, 0.5 = between 50% and 100% of it. */
  readonly jitter: number;
}

/** 1 s, 2 s, 4 s … capped at 60 s; each delay is between half and all of that. */
export const DEFAULT_RETRY_POLICY: RetryPolicy = { baseMs: 1_000, factor: 2, maxMs: 60_000, jitter: 0.5 };

/**
 * Delay before retry number `attempt` (1 = the first retry). `random` returns [0, 1).
 * Jitter spreads the retries of many clients that lost the same server at once.
 */
export function retryDelay(attempt: number, random: () => number, policy: RetryPolicy = DEFAULT_RETRY_POLICY): number {
  const exponent = Math.max(0, Math.floor(attempt) - 1);
  // Math.min before pow overflows: factor^exponent can be huge after days offline.
  const capped = Math.min(policy.maxMs, policy.baseMs * Math.pow(policy.factor, Math.min(exponent, 64)));
  const jitter = Math.min(1, Math.max(0, policy.jitter));
  const r = Math.min(1, Math.max(0, random()));
  return Math.round(capped * (1 - jitter + jitter * r));
}
