#!/usr/bin/env node
// `resilient-upload-server`: the upload API and the demo page on one port.
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parseByteCount } from '../src/protocol/wire.js';
import { startServer } from './http.js';
import { storageFromUrl } from './s3/storage-url.js';
import type { UploadStorage } from './storage.js';

function defaultStaticDir(): string {
  // dist/lib/server/cli.js → dist/demo/. Run from source (tsx server/cli.ts) → <root>/dist/demo/.
  const compiled = fileURLToPath(new URL('../../demo/', import.meta.url));
  if (existsSync(compiled)) return compiled;
  return fileURLToPath(new URL('../dist/demo/', import.meta.url));
}

function intFromEnv(name: string, fallback: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const n = parseByteCount(raw);
  if (n === undefined) {
    console.error(`resilient-upload: ${name} must be a non-negative integer, got ${JSON.stringify(raw)}`);
    process.exit(2);
  }
  return n;
}

function storageFromEnv(): { storage?: UploadStorage } {
  const url = process.env['STORAGE_URL'];
  if (url === undefined || url === '') return {};
  try {
    return { storage: storageFromUrl(url) };
  } catch (err) {
    console.error(`resilient-upload: ${err instanceof Error ? err.message : String(err)}`);
    process.exit(2);
  }
}

const running = await startServer({
  ...storageFromEnv(),
  port: intFromEnv('PORT', 8080),
  host: process.env['HOST'] || '127.0.0.1',
  uploadDir: process.env['UPLOAD_DIR'] || './uploads',
  staticDir: process.env['STATIC_DIR'] || defaultStaticDir(),
  maxUploadSize: intFromEnv('MAX_UPLOAD_SIZE', 10 * 1024 ** 3),
}).catch((err: unknown) => {
  // E.g. the upload directory cannot be created, a crash left something recovery cannot repair,
  // or the bucket is missing, the credentials are refused or the endpoint does not answer.
  console.error(`resilient-upload: not starting: ${err instanceof Error ? err.message : String(err)}`);
  process.exit(1);
});
console.log(`resilient-upload listening on ${running.url}`);

let stopping = false;
const stop = (signal: string): void => {
  if (stopping) return;
  stopping = true;
  console.log(`resilient-upload: ${signal}, finishing requests in flight`);
  running.close().then(
    () => process.exit(0),
    (err: unknown) => {
      console.error('resilient-upload: shutdown failed', err);
      process.exit(1);
    },
  );
};
process.on('SIGTERM', () => stop('SIGTERM'));
process.on('SIGINT', () => stop('SIGINT'));
