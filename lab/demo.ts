// The built demo as tests and benchmarks open it: where it is, a check that it was built, a
// temp folder per run, and a tab that waits until the uploader connected.
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type { BrowserSession, Tab } from './engines/index.js';
import { until } from './poll.js';

export const REPO = resolve(import.meta.dirname, '..');
export const DEMO_DIR = join(REPO, 'dist/demo');

export function assertDemoBuilt(): void {
  if (!existsSync(join(DEMO_DIR, 'resilient-upload-sw.js')) || !existsSync(join(DEMO_DIR, 'index.html'))) {
    throw new Error(`The demo is not built in ${DEMO_DIR}: run 'npm run build' (npm test does it first).`);
  }
}

export async function tempDir(prefix: string): Promise<{ path: string; remove(): Promise<void> }> {
  const path = await mkdtemp(join(tmpdir(), `ru-${prefix}-`));
  return { path, remove: () => rm(path, { recursive: true, force: true }) };
}

/** Opens the demo in a new tab and waits until the uploader connected and rendered its snapshot. */
export async function openDemo(session: BrowserSession, url: string): Promise<Tab> {
  const tab = await session.open(url);
  await until('the demo ready (body[data-ready="true"])', () => tab.evaluate(() => document.body?.dataset.ready === 'true', null), 30_000);
  return tab;
}
