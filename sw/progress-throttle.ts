// At most one progress event per upload per interval (default 100 ms, i.e. ~10/s): a fast
// link would otherwise flood every tab with messages. State and final events are never throttled.

export class ProgressThrottle {
  readonly #intervalMs: number;
  readonly #now: () => number;
  readonly #last = new Map<string, number>();

  constructor(now: () => number, intervalMs = 100) {
    this.#now = now;
    this.#intervalMs = intervalMs;
  }

  /** True when a progress event for `id` may go out now (and records that it did). */
  allow(id: string): boolean {
    const now = this.#now();
    const last = this.#last.get(id);
    if (last !== undefined && now - last < this.#intervalMs) return false;
    this.#last.set(id, now);
    return true;
  }

  /** Forget `id` (it finished or stopped): its next progress event goes out at once. */
  reset(id: string): void {
    this.#last.delete(id);
  }
}
