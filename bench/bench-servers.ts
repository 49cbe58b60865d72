// The servers the browser benchmarks compare, each in its own process so CPU and RSS are
// measured alike: ours (built CLI, serving the demo or another folder) and @tus/server.
import { join } from 'node:path';
import { DEMO_DIR, REPO } from '../lab/demo.js';
import { spawnListening, type Listening } from '../lab/processes.js';

export function startOurs(uploadDir: string, staticDir = DEMO_DIR): Promise<Listening> {
  return spawnListening(process.execPath, [join(REPO, 'dist/lib/server/cli.js')], { PORT: '0', HOST: '127.0.0.1', UPLOAD_DIR: uploadDir, STATIC_DIR: staticDir });
}

export function startTus(uploadDir: string): Promise<Listening> {
  return spawnListening(join(REPO, 'node_modules/.bin/tsx'), [join(REPO, 'bench/tus-server.ts')], { PORT: '0', UPLOAD_DIR: uploadDir });
}
