// A real upload server on 127.0.0.1, port 0, in a fresh temp directory removed on close().
// For engine and browser tests as well as the server's own.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startServer, type RunningServer, type StartServerOptions } from '../../server/index.js';

export type TestServer = RunningServer & {
  /** The temp directory; uploads live in `<dir>/uploads` unless `uploadDir` was given. */
  readonly dir: string;
  readonly uploadDir: string;
};

export async function startTestServer(options: StartServerOptions = {}): Promise<TestServer> {
  const dir = await mkdtemp(join(tmpdir(), 'resilient-upload-'));
  const uploadDir = options.uploadDir ?? join(dir, 'uploads');
  const running = await startServer({ closeTimeoutMs: 1000, ...options, uploadDir, port: options.port ?? 0, host: '127.0.0.1' });
  return {
    ...running,
    dir,
    uploadDir,
    close: async () => {
      await running.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/**
 * `srv` whose close() runs once however often it is called, registered in `cleanups`: a test may
 * close it itself (to restart on the same directory, or before its disk goes) and the cleanup
 * after it does nothing more.
 */
export function closedOnce(srv: TestServer, cleanups: Array<() => Promise<void> | void>): TestServer {
  let closed = false;
  const close = async (): Promise<void> => {
    if (closed) return;
    closed = true;
    await srv.close();
  };
  cleanups.push(close);
  return { ...srv, close };
}
