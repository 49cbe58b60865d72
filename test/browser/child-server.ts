// The real server as a child process on a fixed port, so a test can SIGKILL it and start it
// again on the same port and directory (the page's origin must not change).
import { spawn, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { DEMO_DIR, REPO } from './harness.js';

const CLI = join(REPO, 'dist/lib/server/cli.js');

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const address = probe.address();
      probe.close(() => (typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port'))));
    });
  });
}

export interface ChildServer {
  readonly port: number;
  readonly url: string;
  readonly process: ChildProcess;
  kill(signal?: NodeJS.Signals): Promise<void>;
}

export async function startChildServer(options: { port: number; uploadDir: string; maxUploadSize?: number }): Promise<ChildServer> {
  if (!existsSync(CLI)) throw new Error(`${CLI} is missing: run 'npm run build' (npm test does it first).`);
  const child = spawn(process.execPath, [CLI], {
    env: {
      ...process.env,
      PORT: String(options.port),
      HOST: '127.0.0.1',
      UPLOAD_DIR: options.uploadDir,
      STATIC_DIR: DEMO_DIR,
      ...(options.maxUploadSize === undefined ? {} : { MAX_UPLOAD_SIZE: String(options.maxUploadSize) }),
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`server did not start: ${output}`)), 20_000);
    const onData = (chunk: Buffer): void => {
      output += chunk.toString();
      if (output.includes('listening on')) {
        clearTimeout(timer);
        resolve();
      }
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`server exited with ${code}: ${output}`));
    });
  });
  return {
    port: options.port,
    url: `http://127.0.0.1:${options.port}`,
    process: child,
    kill: (signal: NodeJS.Signals = 'SIGKILL') =>
      new Promise((resolve) => {
        if (child.exitCode !== null || child.signalCode !== null) return resolve();
        child.once('exit', () => resolve());
        child.kill(signal);
      }),
  };
}
