// Browser project: starts with an empty results folder (the table must come from this run) and
// ends by printing the engine × case grid, with the reason of every case an engine cannot do.
import { rmSync } from 'node:fs';
import { RESULTS_DIR, readResults, summary } from './results.js';

export function setup(): void {
  rmSync(RESULTS_DIR, { recursive: true, force: true });
}

export function teardown(): void {
  console.log(summary(readResults(RESULTS_DIR)));
}
