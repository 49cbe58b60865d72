// The browser suite's machine-readable results: one JSON file per engine × case under
// test-results/browser/ (git-ignored), read back by the summary and by engine-table.ts.
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';

export const RESULTS_DIR = resolve(import.meta.dirname, '../../test-results/browser');

export type EngineName = 'chromium' | 'firefox' | 'webkit';

/** What a case learnt beyond pass/fail (feature checks, counts), kept in its result. */
export type Facts = Record<string, string | number | boolean>;

export interface CaseResult {
  readonly engine: EngineName;
  /** Browser and version as the driver reported them ('' when the case could not start). */
  readonly version: string;
  readonly id: string;
  readonly title: string;
  readonly status: 'passed' | 'failed' | 'unsupported';
  /** Why it failed, or why the engine cannot do it. */
  readonly reason?: string;
  readonly durationMs?: number;
  readonly facts?: Facts;
}

export function recordResult(result: CaseResult, dir = RESULTS_DIR): void {
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, `${result.engine}.${result.id}.json`), `${JSON.stringify(result, null, 2)}\n`);
}

export function readResults(dir = RESULTS_DIR): CaseResult[] {
  let names: string[];
  try {
    names = readdirSync(dir).filter((n) => n.endsWith('.json'));
  } catch {
    return [];
  }
  return names.map((n) => JSON.parse(readFileSync(join(dir, n), 'utf8')) as CaseResult);
}

/** Pass counts per engine, and every case an engine could not do or failed, with the reason. */
export function summary(results: readonly CaseResult[]): string {
  if (results.length === 0) return 'browser suite: no results recorded';
  const engines = [...new Set(results.map((r) => r.engine))];
  const lines = ['', 'browser suite, engine × case:'];
  for (const engine of engines) {
    const mine = results.filter((r) => r.engine === engine);
    const count = (s: CaseResult['status']): number => mine.filter((r) => r.status === s).length;
    const time = mine.reduce((t, r) => t + (r.durationMs ?? 0), 0) / 1000;
    lines.push(`  ${engine}: ${count('passed')} passed, ${count('failed')} failed, ${count('unsupported')} not possible (${time.toFixed(0)} s)`);
    for (const r of mine.filter((x) => x.status !== 'passed')) {
      lines.push(`    ${r.status === 'failed' ? 'FAILED' : 'not possible'} ${r.id}. ${r.title}: ${(r.reason ?? '').split('\n')[0]}`);
    }
  }
  return lines.join('\n');
}
