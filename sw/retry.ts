// What happens after a failed run, and when a trigger may retry early. Pure: time and
// randomness come in as arguments. Whether to retry at all follows from the error's code
// (RECOVERY in src/protocol/errors.ts).
import type { UploadError } from '../src/protocol/index.js';

export interface RetryPolicy {
  /** Delay before the first retry, in ms. */
  readonly baseMs: number;
  /** Growth per further attempt. */
  readonly factor: number;
  /** Largest delay before jitter, in ms. */
  readonly maxMs: number;
  /** Share of the delay that is random: 0 = none, 0.5 = between 50% and 100% of it. */
  readonly jitter: number;
  /** Failures in a row, without progress, after which a `retry-limited` error fails the upload. */
  readonly limitedAttempts: number;
}

/** 1 s, 2 s, 4 s … capped at 60 s; each delay is between half and all of that. */
export const DEFAULT_RETRY_POLICY: RetryPolicy = { baseMs: 1_000, factor: 2, maxMs: 60_000, jitter: 0.5, limitedAttempts: 4 };

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

/** The failure's consequence for the upload. */
export type AfterFailure =
  /** `waiting` until `retryAt`; `earlyRetry` lets one `online`/`sync` trigger come sooner. */
  | { readonly kind: 'wait'; readonly attempts: number; readonly retryAt: number; readonly earlyRetry: boolean }
  /** `waiting`, no timer, until new headers or a user action. */
  | { readonly kind: 'hold'; readonly attempts: number }
  /** `failed` until the user retries. */
  | { readonly kind: 'fail'; readonly attempts: number };

export interface FailureInput {
  /** Failures in a row before this one (reset by progress). */
  readonly attempts: number;
  readonly error: UploadError;
  /** This run was an early retry (a trigger pulled it forward): its failure grants no new one. */
  readonly early: boolean;
  readonly retryAfterMs?: number;
  readonly now: number;
  readonly random: () => number;
  readonly policy: RetryPolicy;
}

export function afterFailure(input: FailureInput): AfterFailure {
  const attempts = input.attempts + 1;
  switch (input.error.recovery) {
    case 'final':
      return { kind: 'fail', attempts };
    case 'needs-credentials':
      return { kind: 'hold', attempts };
    case 'retry-limited':
      // A few tries with the usual backoff, then the user decides.
      if (attempts >= input.policy.limitedAttempts) return { kind: 'fail', attempts };
      return wait(input, attempts);
    case 'retry':
      return wait(input, attempts);
  }
}

function wait(input: FailureInput, attempts: number): AfterFailure {
  const delay = Math.max(retryDelay(attempts, input.random, input.policy), input.retryAfterMs ?? 0);
  return { kind: 'wait', attempts, retryAt: input.now + delay, earlyRetry: !input.early };
}
