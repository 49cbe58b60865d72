// The shared services every protocol handler is given (see protocol.ts), wired from their parts.
import { withDeadlines, type BodyDeadlines } from './body.js';
import type { CompletionDelivery } from './completions.js';
import { FileDigests } from './file-digests.js';
import type { UploadLimits } from './limits.js';
import type { UploadLocks } from './locks.js';
import type { UploadServices } from './protocol.js';
import { storageKey, type UploadRef, type UploadStatus, type UploadStorage } from './storage.js';
import type { Lease } from './locks.js';
import type { AppendSizeLimits } from './options.js';
import type { UploadResponse } from './types.js';

export function createUploadServices(parts: {
  storage: UploadStorage;
  locks: UploadLocks;
  limits: UploadLimits;
  completions: CompletionDelivery;
  deadlines: BodyDeadlines;
  takeoverTimeoutMs: number;
  /** Measures the waits on the client for the minimum body rate. */
  now: () => number;
  maxUploadSize: number;
  ietfAppendSize: AppendSizeLimits;
  /** Wall-clock ms since epoch, for expiry. */
  wallClock: () => number;
  /** How long an unfinished upload survives untouched; undefined when no sweep runs. */
  staleAfterMs: number | undefined;
}): UploadServices {
  const { storage, locks, limits, completions, deadlines, takeoverTimeoutMs, now, maxUploadSize, ietfAppendSize, wallClock, staleAfterMs } = parts;
  const digests = new FileDigests();
  const services: UploadServices = {
    storage,
    maxUploadSize,
    ietfAppendSize,
    expiry: () => (staleAfterMs === undefined ? undefined : { at: wallClock() + staleAfterMs, afterMs: staleAfterMs }),
    takeOver: (ref) => locks.acquire(storageKey(ref), takeoverTimeoutMs),
    body: (req, lease) => withDeadlines(req.body, AbortSignal.any([req.signal, lease.signal]), deadlines, now),
    async append(ref, req, lease, a) {
      const admission = await limits.admit(ref, a);
      try {
        const appended = await storage.append(ref, digests.observe(ref, a.start, services.body(req, lease)), {
          start: a.start,
          maxBytes: admission.maxBytes,
          ...(a.size === undefined ? {} : { size: a.size }),
          ...(a.name === undefined ? {} : { name: a.name }),
          ...(a.digest === undefined ? {} : { digest: a.digest }),
          ...(a.completing === undefined ? {} : { completing: a.completing }),
        });
        digests.settle(ref, appended.offset);
        // Bytes appended since a completion failed: this request's client completes the upload (see forget).
        completions.forget(ref);
        return appended;
      } catch (err) {
        const offset = (err as { offset?: unknown }).offset;
        if (typeof offset === 'number') digests.settle(ref, offset);
        else digests.forget(ref);
        throw admission.explain(err);
      } finally {
        admission.release();
      }
    },
    matchesDigest: (ref, size, expected) => digests.matches(ref, size, expected, storage),
    complete: (ref) => completions.complete(ref),
  };
  return services;
}

/**
 * Runs `work` under the upload's lease (a takeover point) with what the storage holds of it once
 * any older request let go (undefined: no such upload), and releases the lease after.
 */
export async function underLease(
  services: UploadServices,
  ref: UploadRef,
  work: (lease: Lease, held: UploadStatus | undefined) => Promise<UploadResponse>,
): Promise<UploadResponse> {
  const lease = await services.takeOver(ref);
  try {
    return await work(lease, await services.storage.status(ref));
  } finally {
    lease.release();
  }
}

/** A body with no bytes, for appends that only create an upload or set its length. */
export async function* emptyBody(): AsyncGenerator<Uint8Array> {}
