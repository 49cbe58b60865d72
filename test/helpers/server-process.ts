// Starts test/helpers/server-main.ts (the real server, from source) in a child process.
import { join } from 'node:path';
import type { StartServerOptions } from '../../server/index.js';
import { spawnListening, type Listening } from '../../lab/processes.js';

const REPO = join(import.meta.dirname, '..', '..');

export interface ServerProcessOptions {
  /** Plain-value options of startServer (no functions: they do not cross a process boundary). */
  readonly options: StartServerOptions;
  readonly authorize?: 'header';
  /** File onComplete appends its calls to. */
  readonly hookLog?: string;
  /** The process kills itself (SIGKILL) inside onComplete. */
  readonly hookDies?: boolean;
}

export function startServerProcess(o: ServerProcessOptions): Promise<Listening> {
  return spawnListening(process.execPath, ['--import', 'tsx', join(REPO, 'test', 'helpers', 'server-main.ts')], {
    RU_OPTIONS: JSON.stringify({ host: '127.0.0.1', port: 0, ...o.options }),
    ...(o.authorize === undefined ? {} : { RU_AUTHORIZE: o.authorize }),
    ...(o.hookLog === undefined ? {} : { RU_HOOK_LOG: o.hookLog }),
    ...(o.hookDies ? { RU_HOOK_DIE: '1' } : {}),
  });
}
