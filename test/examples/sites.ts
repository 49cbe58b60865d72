// The examples deployed as a developer would: each built by its own `npm run build` (the plain
// page copied with its README's two commands), all served by one server with the upload API,
// each on its own origin (a fault proxy in front, which also plays the network going away).
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { cp, mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, extname, join, resolve, sep } from 'node:path';
import { createRequire } from 'node:module';
import { promisify } from 'node:util';
import { createUploadHandler, type UploadHandler } from '../../server/index.js';
import { startFaultProxy, type FaultProxy } from '../../lab/fault-proxy.js';
import { sha256 } from '../helpers/hash.js';

export const REPO = resolve(import.meta.dirname, '../..');
const EXAMPLES = join(REPO, 'examples');

export type SiteName = 'vite-pwa-react' | 'workbox-generate-sw' | 'plain-page';

export interface Site {
  /** The site's origin, through its proxy. */
  readonly url: string;
  readonly proxy: FaultProxy;
  /** Serves the next version of the service worker script (its bytes change, as after a deploy). */
  deploy(): void;
}

export interface Sites {
  site(name: SiteName): Site;
  /** SHA-256 of each completed upload, by its name. */
  completed(): Promise<Map<string, string>>;
  close(): Promise<void>;
}

/** What each site serves at its root, and its service worker script. */
interface Root {
  readonly dir: string;
  readonly worker: string;
  /** Generated pages (tests only): path → HTML or script. */
  readonly extra?: Readonly<Record<string, string>>;
}

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json',
  '.map': 'application/json',
  '.webmanifest': 'application/manifest+json',
};

const run = promisify(execFile);

/** `npm run build` in an example, as its README says. */
async function build(name: SiteName): Promise<string> {
  const dir = join(EXAMPLES, name);
  try {
    await run('npm', ['run', 'build'], { cwd: dir, maxBuffer: 16 << 20 });
  } catch (error) {
    const { stdout, stderr } = error as { stdout?: string; stderr?: string };
    throw new Error(`npm run build failed in examples/${name}:\n${stdout ?? ''}\n${stderr ?? ''}`);
  }
  return join(dir, 'dist');
}

/** The plain page needs no build: its folder plus the two things its README copies from the package. */
async function deployPlainPage(into: string): Promise<string> {
  // Where `npm i resilient-upload` put the package (here the workspace link to this repository).
  const pkg = dirname(createRequire(import.meta.url).resolve('resilient-upload/package.json'));
  await cp(join(EXAMPLES, 'plain-page'), into, { recursive: true });
  await cp(join(pkg, 'dist/lib/src'), join(into, 'vendor/resilient-upload'), { recursive: true });
  await cp(join(pkg, 'dist/demo/resilient-upload-sw.js'), join(into, 'resilient-upload-sw.js'));
  return into;
}

export function assertPackageBuilt(): void {
  for (const file of ['dist/lib/src/index.js', 'dist/lib/src/react/index.js', 'dist/lib/sw/index.js', 'dist/demo/resilient-upload-sw.js']) {
    if (!existsSync(join(REPO, file))) throw new Error(`${file} is missing: run 'npm run build' (npm test does it first).`);
  }
}

export async function openSites(): Promise<Sites> {
  assertPackageBuilt();
  const temp = await mkdtemp(join(tmpdir(), 'ru-examples-'));
  const uploadDir = join(temp, 'uploads');
  // One at a time: two builds at once would only fight over the two cores.
  const roots: Record<SiteName, Root> = {
    'vite-pwa-react': { dir: await build('vite-pwa-react'), worker: '/sw.js' },
    'workbox-generate-sw': { dir: await build('workbox-generate-sw'), worker: '/sw.js' },
    'plain-page': { dir: await deployPlainPage(join(temp, 'plain-page')), worker: '/resilient-upload-sw.js', extra: TEST_PAGES },
  };
  const upload = createUploadHandler({ uploadDir });
  await upload.ready();
  const deploys = new Map<string, number>();
  const byHost = new Map<string, { name: SiteName; root: Root }>();
  const server = createServer({ requestTimeout: 0 }, (req, res) => {
    upload(req, res, () => {
      const site = byHost.get(req.headers.host ?? '');
      if (!site) return void res.writeHead(421).end('unknown site');
      void serve(site.root, deploys.get(site.name) ?? 0, req, res).catch(() => res.destroy());
    });
  });
  await listen(server);
  const port = (server.address() as AddressInfo).port;
  const sites = new Map<SiteName, Site>();
  for (const name of Object.keys(roots) as SiteName[]) {
    const proxy = await startFaultProxy({ targetPort: port });
    byHost.set(`127.0.0.1:${proxy.port}`, { name, root: roots[name] });
    sites.set(name, { url: proxy.url, proxy, deploy: () => deploys.set(name, (deploys.get(name) ?? 0) + 1) });
  }
  return {
    site: (name) => sites.get(name)!,
    completed: () => completedByName(uploadDir),
    async close() {
      for (const site of sites.values()) await site.proxy.close();
      server.closeAllConnections();
      await new Promise<void>((r) => server.close(() => r()));
      await (upload as UploadHandler).close();
      await rm(temp, { recursive: true, force: true });
    },
  };
}

function listen(server: Server): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
}

/** Static files; the worker script carries the deploy number, so a deploy changes its bytes. */
async function serve(root: Root, deploy: number, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const asked = decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname);
  const path = asked.endsWith('/') ? `${asked}index.html` : asked;
  const generated = root.extra?.[path];
  const file = resolve(join(root.dir, path));
  if (generated === undefined && !file.startsWith(root.dir + sep)) return void res.writeHead(404).end();
  let body: Buffer;
  try {
    body = generated === undefined ? await readFile(file) : Buffer.from(generated);
  } catch {
    return void res.writeHead(404).end();
  }
  if (path === root.worker && deploy > 0) body = Buffer.concat([body, Buffer.from(`\n// deploy ${deploy}\n`)]);
  const type = TYPES[extname(generated === undefined ? file : path)] ?? 'application/octet-stream';
  res.writeHead(200, { 'content-type': type, 'content-length': body.length, 'cache-control': 'no-cache' }).end(req.method === 'HEAD' ? undefined : body);
}

/** Pages only the tests serve (on the plain page's origin): a worker that lacks the uploader, and a page without a worker. */
const TEST_PAGES: Readonly<Record<string, string>> = {
  '/blank.html': '<!doctype html><meta charset="utf-8"><title>no worker</title>',
  '/not-installed/index.html': '<!doctype html><meta charset="utf-8"><title>a worker without the uploader</title>',
  '/not-installed/sw.js': "self.addEventListener('fetch', () => undefined); // an app's worker that never called installUploader()",
};

async function completedByName(uploadDir: string): Promise<Map<string, string>> {
  const dir = join(uploadDir, 'complete');
  const out = new Map<string, string>();
  const walk = async (at: string): Promise<void> => {
    for (const entry of await readdir(at, { withFileTypes: true }).catch(() => [])) {
      const path = join(at, entry.name);
      if (entry.isDirectory()) await walk(path);
      else if (entry.name.endsWith('.json')) {
        const meta = JSON.parse(await readFile(path, 'utf8')) as { name?: string };
        const data = path.slice(0, -'.json'.length);
        if (meta.name && existsSync(data)) out.set(meta.name, sha256(await readFile(data)));
      }
    }
  };
  await walk(dir);
  return out;
}
