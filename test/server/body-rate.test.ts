// The minimum body rate as a table: only time spent waiting on the client counts.
import { describe, expect, it } from 'vitest';
import { BodyRate } from '../../server/body-rate.js';

type Chunk = [bytes: number, waitedMs: number];

describe('BodyRate', () => {
  const cases: Array<[string, { minBytesPerSecond: number; windowMs: number }, Chunk[], boolean[]]> = [
    ['one byte every 20 s: cut when the 60 s window closes', { minBytesPerSecond: 1024, windowMs: 60_000 }, [[1, 20_000], [1, 20_000], [1, 20_000]], [true, true, false]],
    ['a fast body never waits long enough to be judged', { minBytesPerSecond: 1024, windowMs: 60_000 }, Array(100).fill([65_536, 1]), Array(100).fill(true)],
    ['exactly the minimum passes', { minBytesPerSecond: 1000, windowMs: 1000 }, [[500, 500], [500, 500]], [true, true]],
    ['just below the minimum is cut', { minBytesPerSecond: 1000, windowMs: 1000 }, [[500, 500], [499, 500]], [true, false]],
    ['each window is judged on its own', { minBytesPerSecond: 1000, windowMs: 1000 }, [[5000, 1000], [10, 1000], [5000, 1000]], [true, false, true]],
    ['a server busy for minutes between quick chunks does not count', { minBytesPerSecond: 1024, windowMs: 60_000 }, Array(10).fill([1024, 0]), Array(10).fill(true)],
    ['0 turns the check off', { minBytesPerSecond: 0, windowMs: 1000 }, [[1, 1_000_000]], [true]],
  ];
  it.each(cases)('%s', (_name, policy, chunks, expected) => {
    const rate = new BodyRate(policy);
    expect(chunks.map(([bytes, waited]) => rate.record(bytes, waited))).toEqual(expected);
  });
});
