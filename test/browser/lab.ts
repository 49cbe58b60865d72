// One browser, one server and a fault proxy in front of it. The page is loaded through the
// proxy, so the proxy sees (and can cut, slow, hang or refuse) every byte the page and the worker send.
import { startFaultProxy, type FaultProxy } from '../../lab/fault-proxy.js';
import { startTestServer } from '../helpers/server.js';
import { startChildServer, freePort, type ChildServer } from './child-server.js';
import type { BrowserSession, Engine, Tab } from '../../lab/engines/index.js';
import { assertDemoBuilt, DEMO_DIR, openDemo, tempDir } from './harness.js';

export interface LabOptions {
  /** Run the server as a child process (so it can be SIGKILLed and restarted). */
  readonly childServer?: boolean;
  readonly maxUploadSize?: number;
  /** Proxy bandwidth in bytes/s, so uploads last long enough to be interrupted. */
  readonly bytesPerSecond?: number;
  /** Storage the page's origin may use (the engine needs `storageQuota`). */
  readonly storageQuotaBytes?: number;
}

export interface Lab {
  readonly engine: Engine;
  readonly proxy: FaultProxy;
  /** The demo's URL (through the proxy). */
  readonly url: string;
  readonly uploadDir: string;
  readonly filesDir: string;
  session: BrowserSession;
  /** Opens the demo in a new tab; `query` configures its worker (e.g. `?timeoutBaseMs=3000`). */
  open(query?: string): Promise<Tab>;
  /** Quits the browser and starts it again with the same profile. */
  relaunch(): Promise<void>;
  /** Child-server labs only: SIGKILL and start again on the same port and directory. */
  killServer(): Promise<void>;
  startServer(options?: { maxUploadSize?: number }): Promise<void>;
  close(): Promise<void>;
}

export async function openLab(engine: Engine, options: LabOptions = {}): Promise<Lab> {
  assertDemoBuilt();
  engine.assertInstalled();
  const profile = await tempDir(`profile-${engine.name}`);
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
  const launch = (): Promise<BrowserSession> =>
    engine.launch(profile.path, options.storageQuotaBytes === undefined ? {} : { storageQuotaBytes: options.storageQuotaBytes });

  const lab: Lab = {
    engine,
    proxy,
    url: proxy.url,
    uploadDir: data.path,
    filesDir: files.path,
    session: await launch(),
    open: (query = '') => openDemo(lab.session, `${proxy.url}/${query}`),
    async relaunch() {
      await lab.session.close();
      lab.session = await launch();
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
      await lab.session.close().catch(() => undefined);
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
