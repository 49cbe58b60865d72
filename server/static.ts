// Static files for startServer (the demo page and its service worker), as response values.
import { createReadStream } from 'node:fs';
import { extname, join, resolve, sep } from 'node:path';
import { statOrUndefined } from './fs-util.js';
import type { UploadResponse } from './types.js';

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.webmanifest': 'application/manifest+json; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
  '.png': 'image/png',
  '.svg': 'image/svg+xml',
  '.ico': 'image/x-icon',
  '.txt': 'text/plain; charset=utf-8',
  '.wasm': 'application/wasm',
};

const PLACEHOLDER = `<!doctype html><meta charset="utf-8"><title>resilient-upload</title>
<p>resilient-upload server is running. The demo is not built: run <code>npm run build</code>.</p>\n`;

/**
 * Answers GET/HEAD for a file under `root`, or undefined when there is none. The decoded path
 * is resolved and must stay inside `root`: `..`, encoded slashes and NUL never escape it.
 */
export async function serveStatic(root: string, method: string, urlPath: string): Promise<UploadResponse | undefined> {
  if (method !== 'GET' && method !== 'HEAD') return undefined;
  let decoded: string;
  try {
    decoded = decodeURIComponent(urlPath);
  } catch {
    return undefined;
  }
  if (decoded.includes('\0')) return undefined;
  const base = resolve(root);
  let path = resolve(join(base, decoded));
  if (path !== base && !path.startsWith(base + sep)) return undefined;
  let st = await statOrUndefined(path);
  if (st?.isDirectory()) {
    path = join(path, 'index.html');
    st = await statOrUndefined(path);
  }
  if (!st?.isFile()) {
    const rootExists = await statOrUndefined(base);
    if (!rootExists && (decoded === '/' || decoded === '/index.html')) {
      return { status: 200, headers: { 'content-type': TYPES['.html']!, 'cache-control': 'no-cache' }, body: PLACEHOLDER };
    }
    return undefined;
  }
  const headers: Record<string, string> = {
    'content-type': TYPES[extname(path).toLowerCase()] ?? 'application/octet-stream',
    'content-length': String(st.size),
    // Revalidate everything: a stale sw.js or page would pin an old worker.
    'cache-control': 'no-cache',
    'x-content-type-options': 'nosniff',
  };
  return { status: 200, headers, body: method === 'HEAD' ? '' : createReadStream(path) };
}
