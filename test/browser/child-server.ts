// The real server as a child process on a fixed port, so a test can SIGKILL it and start it
// again on the same port and directory (the page's origin must not change).
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { spawnListening, type Listening } from '../../lab/processes.js';
import { DEMO_DIR, REPO } from './harness.js';

export { freePort } from '../../lab/processes.js';

const CLI = join(REPO, 'dist/lib/server/cli.js');

export type ChildServer = Listening;

export async function startChildServer(options: { port: number; uploadDir: string; maxUploadSize?: number }): Promise<ChildServer> {
  if (!existsSync(CLI)) throw new Error(`${CLI} is missing: run 'npm run build' (npm test does it first).`);
  return spawnListening(process.execPath, [CLI], {
    PORT: String(options.port),
    HOST: '127.0.0.1',
    UPLOAD_DIR: options.uploadDir,
    STATIC_DIR: DEMO_DIR,
    ...(options.maxUploadSize === undefined ? {} : { MAX_UPLOAD_SIZE: String(options.maxUploadSize) }),
  });
}
