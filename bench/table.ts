// Prints benchmark rows as an aligned table; ratios are computed by the caller in the same run.
export interface Row {
  readonly measure: string;
  readonly value: string;
  readonly target?: string;
  readonly verdict?: 'met' | 'missed' | 'n/a';
}

export function printTable(title: string, rows: readonly Row[]): void {
  const head = ['measure', 'value', 'target', 'verdict'];
  const cells = rows.map((r) => [r.measure, r.value, r.target ?? '', r.verdict ?? '']);
  const widths = head.map((h, i) => Math.max(h.length, ...cells.map((c) => c[i]!.length)));
  const line = (c: string[]): string => `| ${c.map((x, i) => x.padEnd(widths[i]!)).join(' | ')} |`;
  console.log(`\n### ${title}\n`);
  console.log(line(head));
  console.log(`|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`);
  for (const c of cells) console.log(line(c));
}

export function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

export const MiB = 1024 * 1024;

export function mibps(bytes: number, ms: number): number {
  return bytes / MiB / (ms / 1000);
}

export function verdict(ok: boolean): 'met' | 'missed' {
  return ok ? 'met' : 'missed';
}

/**
 * How the ratio `base / path` (times, so a speed ratio) varied between rounds: each round ran both
 * side by side, so the round's own ratio leaves out what drifts between rounds (the disk's
 * write-back, other jobs on the machine). "rounds 0.97× (0.85–1.10)": the median and the range.
 */
export function roundSpread(base: readonly number[], path: readonly number[]): string {
  const ratios = base.map((b, i) => b / path[i]!);
  return `rounds ${median(ratios).toFixed(2)}× (${Math.min(...ratios).toFixed(2)}–${Math.max(...ratios).toFixed(2)})`;
}
