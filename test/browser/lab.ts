// One browser, one server and a fault proxy in front of it. The page is loaded through the
// proxy, so the proxy sees (and can cut, slow or hang) every byte the page and the worker send.
import type { BrowserContext, Page } from 'playwright-core';
import { startFaultProxy, type FaultProxy } from '../helpers/fault-proxy.js';
import { startTestServer } from '../helpers/server.js';
import { startChildServer, freePort, type ChildServer } from './child-server.js';
import { assertDemoBuilt, DEMO_DIR, launch, openDemo, tempDir } from './harness.js';

export interface LabOptions {
  /** Run the server as a child process (so it can be SIGKILLed and restarted). */
  readonly childServer?: boolean;
  readonly maxUploadSize?: number;
  /** Proxy bandwidth in bytes/s, so uploads last long enough to be interrupted. */
  readonly bytesPerSecond?: number;
}

export interface Lab {
  readonly proxy: FaultProxy;
  /** The demo's URL (through the proxy). */
  readonly url: string;
  readonly uploadDir: string;
  readonly filesDir: string;
  context: BrowserContext;
  /** Opens the demo; `query` configures its worker (e.g. `?timeoutBaseMs=3000`). */
  open(query?: string): Promise<Page>;
  /** Quits the browser and starts it again with the same profile. */
  relaunch(): Promise<void>;
  /** Child-server labs only: SIGKILL and start again on the same port and directory. */
  killServer(): Promise<void>;
  startServer(options?: { maxUploadSize?: number }): Promise<void>;
  close(): Promise<void>;
}

export async function openLab(options: LabOptions = {}): Promise<Lab> {
  assertDemoBuilt();
  const profile = await tempDir('profile');
  const files = await tempDir('files');
  const data = await tempDir('uploads');
  let child: ChildServer | undefined;
  let inProcess: Awaited<ReturnType<typeof startTestServer>> | undefined;
  let serverPort: number;
  if (options.childServer) {
    serverPort = await freePort();
    child = await startChildServer({ port: serverPort, uploadDir: data.path, ...maxSize(options.maxUploadSize) });
  } else {
    inProcess = await startTestServer({ uploadDir: data.path, staticDir: DEMO_DIR, ...maxSize(options.maxUploadSize) });
    serverPort = inProcess.port;
  }
  const proxy = await startFaultProxy({ targetPort: serverPort });
  if (options.bytesPerSecond) proxy.setRate(options.bytesPerSecond);

  const lab: Lab = {
    proxy,
    url: proxy.url,
    uploadDir: data.path,
    filesDir: files.path,
    context: await launch(profile.path),
    open: (query = '') => openDemo(lab.context, `${proxy.url}/${query}`),
    async relaunch() {
      await lab.context.close();
      lab.context = await launch(profile.path);
    },
    async killServer() {
      if (!child) throw new Error('killServer needs a lab with childServer: true');
      await child.kill('SIGKILL');
      child = undefined;
    },
    async startServer(restart = {}) {
      if (child) await child.kill('SIGTERM');
      child = await startChildServer({ port: serverPort, uploadDir: data.path, ...maxSize(restart.maxUploadSize) });
    },
    async close() {
      await lab.context.close().catch(() => undefined);
      await proxy.close();
      await child?.kill('SIGKILL');
      await inProcess?.close();
      await Promise.all([profile.remove(), files.remove(), data.remove()]);
    },
  };
  return lab;
}

function maxSize(bytes: number | undefined): { maxUploadSize?: number } {
  return bytes === undefined ? {} : { maxUploadSize: bytes };
}

/** Waits for a condition on the page's rows, polling. */
export async function until<T>(what: string, probe: () => Promise<T | undefined | false>, timeoutMs = 120_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  while (Date.now() < deadline) {
    const value = await probe().catch((error: unknown) => {
      last = error;
      return undefined;
    });
    if (value !== undefined && value !== false) return value;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`Timed out waiting for ${what}${last ? ` (last error: ${String(last)})` : ''}`);
}
