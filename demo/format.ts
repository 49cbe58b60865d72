export function formatBytes(n: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let i = 0;
  let v = n;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i += 1;
  }
  return `${i === 0 ? v : v.toFixed(1)} ${units[i]}`;
}

export function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds)) return '—';
  const s = Math.round(seconds);
  if (s < 60) return `${s} s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m} min ${s % 60} s`;
  return `${Math.floor(m / 60)} h ${m % 60} min`;
}

/** Upload rate over the last few seconds of confirmed offsets. */
export class RateMeter {
  #samples: { bytes: number; at: number }[] = [];

  record(bytes: number, at: number): void {
    const last = this.#samples.at(-1);
    if (last && bytes < last.bytes) this.#samples = [];
    if (!last || last.bytes !== bytes) this.#samples.push({ bytes, at });
    while (this.#samples.length > 2 && at - (this.#samples[0]?.at ?? at) > 5000) this.#samples.shift();
  }

  reset(): void {
    this.#samples = [];
  }

  /** How long the confirmed offset has not moved (0 before any sample). */
  idleFor(now: number): number {
    const last = this.#samples.at(-1);
    return last === undefined ? 0 : Math.max(0, now - last.at);
  }

  rate(): number | undefined {
    const first = this.#samples[0];
    const last = this.#samples.at(-1);
    if (!first || !last || last.at - first.at < 200) return undefined;
    return ((last.bytes - first.bytes) * 1000) / (last.at - first.at);
  }
}
