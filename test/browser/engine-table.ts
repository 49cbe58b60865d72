// Turns the browser suite's results (test-results/browser/*.json, written by the last
// `npm test`) into the README's per-engine table. `npm run engines:table` prints it;
// `npm run engines:table -- --write` replaces the table between its markers in README.md.
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { readResults, type CaseResult, type EngineName } from './results.js';

const ENGINES: readonly EngineName[] = ['chromium', 'firefox', 'webkit'];
const START = '<!-- engine-table:start -->';
const END = '<!-- engine-table:end -->';

/** Table rows: what the row says, and the case that proves it. */
const SURVIVES: readonly [string, string][] = [
  ['server unreachable mid-upload (proxy refuses), tab open', '2'],
  ['devtools offline (page and worker), tab open', '2b'],
  ['tab closed mid-upload, page opened again', '4'],
  ['page reloaded', 'reload'],
  ['service worker stopped mid-upload', '5'],
  ['browser quit mid-upload and started again (same profile)', '6'],
  ['server SIGKILLed and restarted', '7'],
  ['page-assisted upload: the open page carries the bytes (XHR, progress)', 'A1'],
  ['page closed mid-transfer: the worker carries on by itself', 'A2'],
  ['file kept as ArrayBuffer chunks (the storage fallback, forced), browser relaunched', 'F1'],
  ['server down 60 s, browser online: ≤ 10 attempts, then done by itself', 'R1'],
];
const FEATURES: readonly [string, string][] = [
  ['Background Sync (resume with no tab open)', 'backgroundSync'],
  ['Background Fetch', 'backgroundFetch'],
  ['BYOB stream readers', 'byobReader'],
  ['`AbortSignal.any`', 'abortSignalAny'],
  ['`navigator.storage.persist`', 'storagePersist'],
  ['Web Locks', 'webLocks'],
];

function cell(result: CaseResult | undefined): string {
  if (result === undefined) return 'not run';
  if (result.status === 'passed') return `✅ (case ${result.id})`;
  const reason = (result.reason ?? '').split('\n')[0]!.replace(/\|/g, '\\|');
  return result.status === 'failed' ? `❌ fails (case ${result.id}): ${reason}` : `not testable: ${reason}`;
}

export function engineTable(results: readonly CaseResult[]): string {
  const find = (engine: EngineName, id: string): CaseResult | undefined => results.find((r) => r.engine === engine && r.id === id);
  const version = (engine: EngineName): string => results.find((r) => r.engine === engine && r.version)?.version ?? engine;
  const head = `| | ${ENGINES.map(version).join(' | ')} |\n|---|${ENGINES.map(() => '---').join('|')}|`;
  const survives = SURVIVES.map(([label, id]) => `| ${label} | ${ENGINES.map((e) => cell(find(e, id))).join(' | ')} |`);
  const features = FEATURES.map(([label, key]) => {
    const cells = ENGINES.map((e) => {
      const value = find(e, '0')?.facts?.[key];
      return value === undefined ? 'not run' : value ? 'yes' : 'no';
    });
    return `| ${label} | ${cells.join(' | ')} |`;
  });
  const totals = ENGINES.map((e) => {
    const mine = results.filter((r) => r.engine === e);
    const passed = mine.filter((r) => r.status === 'passed').length;
    const ran = mine.filter((r) => r.status !== 'unsupported').length;
    return mine.length === 0 ? 'not run' : `${passed}/${ran} passed, ${mine.length - ran} not testable`;
  });
  const limits = results
    .filter((r) => r.status === 'unsupported')
    .map((r) => `${r.engine}: ${r.reason}`)
    .filter((line, i, all) => all.indexOf(line) === i);
  return [
    head,
    ...survives,
    `| **platform** (case 0, feature detection in the page) | | | |`,
    ...features,
    `| **fault suite** (every case, \`npm test\`) | ${totals.join(' | ')} |`,
    '',
    ...(limits.length > 0 ? ['Limits of the test drivers (cases reported as not testable):', '', ...limits.map((l) => `- ${l}`)] : []),
  ].join('\n');
}

function main(): void {
  const results = readResults();
  if (results.length === 0) throw new Error('No results in test-results/browser: run the browser suite first (npm test).');
  const table = engineTable(results);
  if (!process.argv.includes('--write')) {
    console.log(table);
    return;
  }
  const readme = join(import.meta.dirname, '../../README.md');
  const text = readFileSync(readme, 'utf8');
  const a = text.indexOf(START);
  const b = text.indexOf(END);
  if (a < 0 || b < a) throw new Error(`README.md has no ${START} … ${END} markers`);
  writeFileSync(readme, `${text.slice(0, a + START.length)}\n${table}\n${text.slice(b)}`);
  console.log('README.md: per-engine table written from test-results/browser');
}

main();
