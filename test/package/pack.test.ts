// What `npm pack` puts in the tarball: the build and nothing else (no sources beyond the maps'
// inlined ones, no tests, no fixtures, no build info), every export present and typed.
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';

const REPO = resolve(import.meta.dirname, '../..');

interface Packed {
  readonly size: number;
  readonly unpackedSize: number;
  readonly files: ReadonlyArray<{ readonly path: string }>;
}

let packed: Packed;
let files: string[];

beforeAll(() => {
  // --ignore-scripts: prepack would build again; npm test has just built.
  const out = execFileSync('npm', ['pack', '--dry-run', '--json', '--ignore-scripts'], { cwd: REPO, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
  const all = JSON.parse(out) as Packed[];
  expect(all).toHaveLength(1); // the root package only, not the examples (workspaces)
  packed = all[0]!;
  files = packed.files.map((f) => f.path).sort();
});

/** Every file an export points at, for every condition. */
function exportTargets(): string[] {
  const pkg = JSON.parse(readFileSync(join(REPO, 'package.json'), 'utf8')) as { exports: Record<string, string | Record<string, string>>; bin: Record<string, string> };
  const targets = Object.values(pkg.exports).flatMap((entry) => (typeof entry === 'string' ? [entry] : Object.values(entry)));
  return [...targets, ...Object.values(pkg.bin)].map((t) => t.replace(/^\.\//, ''));
}

describe('npm pack', () => {
  it('ships the build, the README and package.json only: no tests, fixtures, examples, TypeScript sources or build info', () => {
    const outside = files.filter((f) => !f.startsWith('dist/lib/') && !f.startsWith('dist/demo/'));
    expect(outside).toEqual(['README.md', 'package.json']);
    expect(files.filter((f) => /(^|\/)(test|tests|fixtures|examples|__tests__)\//.test(f))).toEqual([]);
    expect(files.filter((f) => /\.test\.|\.tsbuildinfo$/.test(f))).toEqual([]);
    expect(files.filter((f) => f.endsWith('.ts') && !f.endsWith('.d.ts'))).toEqual([]);
  });

  it('holds every file an export or the bin points at', () => {
    const missing = exportTargets().filter((target) => target !== 'package.json' && !files.includes(target));
    expect(missing).toEqual([]);
  });

  it('every module of the library has its declarations (every export is typed)', () => {
    const modules = files.filter((f) => f.startsWith('dist/lib/') && f.endsWith('.js'));
    expect(modules.length).toBeGreaterThan(50);
    expect(modules.filter((f) => !files.includes(f.replace(/\.js$/, '.d.ts')))).toEqual([]);
  });

  it('stays within its size budget (README, Package size)', () => {
    console.log(`npm pack: ${files.length} files, ${(packed.size / 1024).toFixed(0)} kB packed, ${(packed.unpackedSize / 1024).toFixed(0)} kB unpacked`);
    expect(packed.size).toBeLessThan(640 * 1024);
  });
});
