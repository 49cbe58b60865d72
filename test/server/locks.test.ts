// The writer locks on their own, with fake timers: newest wins, a stuck holder is bounded, and
// nobody ever gets past a holder that has not let go.
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { UploadServerError } from '../../server/index.js';
import { WriterLocks } from '../../server/locks.js';

beforeEach(() => {
  vi.useFakeTimers();
});
afterEach(() => {
  vi.useRealTimers();
});

describe('WriterLocks', () => {
  it('a newer acquire aborts the holder and gets the lease once it let go', async () => {
    const locks = new WriterLocks();
    const first = await locks.acquire('k', 1000);
    let second: unknown;
    void locks.acquire('k', 1000).then((l) => (second = l));
    await vi.advanceTimersByTimeAsync(0);
    expect(first.signal.aborted).toBe(true);
    expect(second).toBeUndefined();
    first.release();
    await vi.advanceTimersByTimeAsync(0);
    expect(second).toBeDefined();
  });

  it('gives up with UNAVAILABLE on a stuck holder, and lets nobody past it', async () => {
    const locks = new WriterLocks();
    const stuck = await locks.acquire('k', 1000);
    const waiting = locks.acquire('k', 1000).catch((e: unknown) => e);
    await vi.advanceTimersByTimeAsync(1000);
    expect(await waiting).toMatchObject({ code: 'UNAVAILABLE', status: 503 });
    expect(await waiting).toBeInstanceOf(UploadServerError);
    // The stuck holder still runs: background work stays out, a newer request waits again.
    expect(locks.tryAcquire('k')).toBeUndefined();
    let third: unknown;
    void locks.acquire('k', 1000).then((l) => (third = l));
    await vi.advanceTimersByTimeAsync(500);
    expect(third).toBeUndefined();
    stuck.release();
    await vi.advanceTimersByTimeAsync(0);
    expect(third).toBeDefined();
  });

  it('tryAcquire never aborts a holder', async () => {
    const locks = new WriterLocks();
    const holder = await locks.acquire('k', 1000);
    expect(locks.tryAcquire('k')).toBeUndefined();
    expect(holder.signal.aborted).toBe(false);
    holder.release();
    await vi.advanceTimersByTimeAsync(0);
    const background = locks.tryAcquire('k');
    expect(background).toBeDefined();
    background!.release();
  });
});
