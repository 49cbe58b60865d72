// Which uploads start next, and when to look again. Pure: the engine passes what it knows and the time.
import type { ErrorInfo, UploadState } from '../src/protocol/index.js';
import { RECOVERY } from '../src/protocol/index.js';
import { byAge } from './record.js';

/** The fields of a record the scheduler looks at. */
export interface Schedulable {
  readonly id: string;
  readonly state: UploadState;
  readonly createdAt: number;
  readonly retryAt?: number;
  readonly error?: ErrorInfo;
}

export interface ScheduleInput {
  readonly now: number;
  /** Most uploads running at once. */
  readonly concurrency: number;
  /** Ids of uploads this engine is running now. */
  readonly running: ReadonlySet<string>;
}

/** Waiting for new credentials: only `setHeaders` or a user action moves it. */
export function awaitsCredentials(upload: Schedulable): boolean {
  return upload.state === 'waiting' && upload.error !== undefined && RECOVERY[upload.error.code] === 'needs-credentials';
}

/** True when the upload may start now (queued, or waiting and its retry time has come). */
export function isDue(upload: Schedulable, now: number): boolean {
  if (upload.state === 'queued') return true;
  if (upload.state !== 'waiting' || awaitsCredentials(upload)) return false;
  return upload.retryAt === undefined || upload.retryAt <= now;
}

/** Ids to start now, oldest first, filling the free slots. */
export function pickNext(uploads: readonly Schedulable[], input: ScheduleInput): string[] {
  const free = Math.max(0, input.concurrency - input.running.size);
  if (free === 0) return [];
  return uploads
    .filter((u) => !input.running.has(u.id) && isDue(u, input.now))
    .sort(byAge)
    .slice(0, free)
    .map((u) => u.id);
}

/** Earliest future retry time of a waiting upload, or undefined when none waits on a timer. */
export function nextWakeAt(uploads: readonly Schedulable[], now: number): number | undefined {
  let wake: number | undefined;
  for (const u of uploads) {
    if (u.state !== 'waiting' || awaitsCredentials(u) || u.retryAt === undefined || u.retryAt <= now) continue;
    if (wake === undefined || u.retryAt < wake) wake = u.retryAt;
  }
  return wake;
}
