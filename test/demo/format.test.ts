// The demo's speed and stall display, on explicit times: a rate only from fresh progress.
import { describe, expect, it } from 'vitest';
import { RateMeter, formatBytes, formatDuration } from '../../demo/format.js';

describe('RateMeter', () => {
  it('measures the rate over recent progress and says how long nothing moved', () => {
    const meter = new RateMeter();
    meter.record(0, 0);
    meter.record(1_000_000, 1_000);
    expect(meter.rate()).toBe(1_000_000);
    expect(meter.idleFor(1_000)).toBe(0);
    // No new bytes: the same offset recorded again does not count as progress.
    meter.record(1_000_000, 3_500);
    expect(meter.idleFor(4_000)).toBe(3_000);
  });

  it('reset starts afresh (a new phase of the upload), and a smaller offset (a restart from the server) too', () => {
    const meter = new RateMeter();
    meter.record(0, 0);
    meter.record(5_000_000, 1_000);
    meter.reset();
    expect(meter.rate()).toBeUndefined();
    expect(meter.idleFor(10_000)).toBe(0);
    meter.record(100, 2_000);
    meter.record(50, 2_100);
    expect(meter.rate()).toBeUndefined();
  });
});

describe('formatting', () => {
  it.each([
    [0, '0 B'],
    [1536, '1.5 KiB'],
    [256 * 1024 * 1024, '256.0 MiB'],
  ])('%i bytes → %s', (n, text) => expect(formatBytes(n)).toBe(text));
  it.each([
    [3, '3 s'],
    [75, '1 min 15 s'],
    [7_300, '2 h 1 min'],
    [Number.POSITIVE_INFINITY, '—'],
  ])('%s s → %s', (s, text) => expect(formatDuration(s)).toBe(text));
});
