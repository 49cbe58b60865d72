#!/usr/bin/env node
// `npm start` runs this first: it builds (npm run build) only when a source is newer than the build
// or part of the build is missing, so restarting a built checkout takes a moment, not a rebuild.
// Run from the package root. `--check` only reports: exit 0 when the build is fresh, 1 when stale.
import { spawnSync } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';

/** What the build reads: every file under these folders, and these files. */
const SOURCE_DIRS = ['src', 'sw', 'server', 'demo'];
const SOURCE_FILES = ['package.json', 'package-lock.json', 'vite.config.ts', 'tsconfig.base.json', 'tsconfig.src.json', 'tsconfig.sw.json', 'tsconfig.server.json', 'tsconfig.demo.json'];
/** What it writes, one file per step: each is rewritten by every build. */
const OUTPUTS = ['dist/lib/src/index.js', 'dist/lib/sw/index.js', 'dist/lib/server/cli.js', 'dist/demo/index.html', 'dist/demo/sw.js'];

function mtime(path) {
  try {
    return statSync(path).mtimeMs;
  } catch {
    return undefined;
  }
}

function newestUnder(dir) {
  let newest = 0;
  let entries;
  try {
    entries = readdirSync(dir, { withFileTypes: true });
  } catch {
    return 0;
  }
  for (const e of entries) {
    const path = join(dir, e.name);
    newest = Math.max(newest, e.isDirectory() ? newestUnder(path) : (mtime(path) ?? 0));
  }
  return newest;
}

/** Why a build is needed, or undefined when the build is fresh. */
export function staleness(root) {
  const built = OUTPUTS.map((o) => [o, mtime(join(root, o))]);
  const missing = built.find(([, t]) => t === undefined);
  if (missing) return `${missing[0]} is missing`;
  const oldest = Math.min(...built.map(([, t]) => t));
  const newest = Math.max(...SOURCE_DIRS.map((d) => newestUnder(join(root, d))), ...SOURCE_FILES.map((f) => mtime(join(root, f)) ?? 0));
  return newest > oldest ? 'sources changed since the last build' : undefined;
}

const why = staleness(process.cwd());
if (process.argv.includes('--check')) {
  console.log(why ?? 'fresh');
  process.exit(why ? 1 : 0);
}
if (why) {
  console.log(`resilient-upload: building (${why})`);
  const build = spawnSync('npm', ['run', 'build'], { stdio: 'inherit', shell: process.platform === 'win32' });
  process.exit(build.status ?? 1);
}
