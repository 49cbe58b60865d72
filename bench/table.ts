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
