// The background retry of a completion that failed: it stops, without freezing anything, once the
// upload is no longer whole (its client re-sent a slice since: that request completes it).
import { afterEach, describe, expect, it, vi } from 'vitest';
import { CompletionDelivery } from '../../server/completions.js';
import { WriterLocks } from '../../server/locks.js';
import { notWhole, type UploadStorage } from '../../server/storage.js';

afterEach(() => {
  vi.useRealTimers();
});

describe('CompletionDelivery: the background retry', () => {
  it('stops at OFFSET_MISMATCH: no more tries, no delivery, a warning', async () => {
    vi.useFakeTimers();
    const tries: string[] = [];
    const storage = {
      status: async () => ({ offset: 5, size: 10, complete: false }),
      complete: async () => {
        tries.push('complete');
        if (tries.length === 1) throw Object.assign(new Error('ENOSPC: no space left on device'), { code: 'ENOSPC' });
        throw notWhole(5, 10);
      },
    } as unknown as UploadStorage;
    const warnings: string[] = [];
    const hook = vi.fn();
    const delivery = new CompletionDelivery({ storage, locks: new WriterLocks(), hook, logger: { error: () => undefined, warn: (m: string) => void warnings.push(m) } });
    await expect(delivery.complete({ namespace: '', id: 'f' })).rejects.toMatchObject({ code: 'ENOSPC' });
    await vi.advanceTimersByTimeAsync(10 * 60_000);
    expect(tries).toEqual(['complete', 'complete']);
    expect(hook).not.toHaveBeenCalled();
    expect(warnings.join('\n')).toContain('is no longer whole');
    await delivery.close(0);
  });

  it('stops once a request appends to the upload: that request (or the body-less one after X-Upload-Complete: ?0) completes it, with its digest check', async () => {
    vi.useFakeTimers();
    const tries: string[] = [];
    const storage = {
      status: async () => ({ offset: 10, size: 10, complete: false }),
      complete: async () => {
        tries.push('complete');
        throw Object.assign(new Error('ENOSPC: no space left on device'), { code: 'ENOSPC' });
      },
    } as unknown as UploadStorage;
    const delivery = new CompletionDelivery({ storage, locks: new WriterLocks(), hook: vi.fn(), logger: { error: () => undefined, warn: () => undefined } });
    const ref = { namespace: '', id: 'f' };
    await expect(delivery.complete(ref)).rejects.toMatchObject({ code: 'ENOSPC' });
    // Cancelled and sent again with ?0: whole, but not to be completed before its digest is checked.
    delivery.forget(ref);
    await vi.advanceTimersByTimeAsync(10 * 60_000);
    expect(tries).toEqual(['complete']);
    await delivery.close(0);
  });
});
