// A clock the test moves by hand: timers fire in order as time advances, and nothing waits on
// real time. Between timers the test lets pending promises run (`settle`).
import type { Clock } from '../../../sw/clock.js';

interface Timer {
  readonly at: number;
  readonly seq: number;
  readonly callback: () => void;
}

export class FakeClock implements Clock {
  #now: number;
  #seq = 0;
  readonly #timers = new Map<number, Timer>();

  constructor(start = 1_700_000_000_000) {
    this.#now = start;
  }

  now(): number {
    return this.#now;
  }

  setTimeout(callback: () => void, ms: number): unknown {
    const seq = ++this.#seq;
    this.#timers.set(seq, { at: this.#now + Math.max(0, ms), seq, callback });
    return seq;
  }

  clearTimeout(handle: unknown): void {
    this.#timers.delete(handle as number);
  }

  /** Timers still pending. */
  get pending(): number {
    return this.#timers.size;
  }

  /** Moves time forward by `ms`, firing every timer that falls due, in order, settling after each. */
  async advance(ms: number): Promise<void> {
    const end = this.#now + ms;
    for (;;) {
      await settle();
      const next = [...this.#timers.values()].filter((t) => t.at <= end).sort((a, b) => a.at - b.at || a.seq - b.seq)[0];
      if (next === undefined) break;
      this.#timers.delete(next.seq);
      this.#now = next.at;
      next.callback();
    }
    this.#now = end;
    await settle();
  }

  /** Advances in steps of `stepMs` until `done()` holds; fails after `limitMs` of fake time. */
  async until(done: () => boolean, limitMs: number, stepMs = 100): Promise<number> {
    const start = this.#now;
    while (!done()) {
      if (this.#now - start >= limitMs) throw new Error(`not done within ${limitMs} ms of fake time`);
      await this.advance(stepMs);
    }
    return this.#now - start;
  }
}

/**
 * Lets every promise chain that does not wait on I/O run to its end. A few macrotask turns are
 * enough for the engine's chains (memory store, scripted transport); no real time is waited on.
 */
export async function settle(turns = 25): Promise<void> {
  for (let i = 0; i < turns; i++) await new Promise<void>((resolve) => setImmediate(resolve));
}
