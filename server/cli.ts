#!/usr/bin/env node
// `resilient-upload-server`: the upload API and the demo page on one port, configured from the
// environment (see cli-config.ts, or run it with --help).
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { SettingError, helpText, optionsFromEnv } from './cli-config.js';
import { startServer } from './http.js';

function defaultStaticDir(): string {
  // dist/lib/server/cli.js → dist/demo/. Run from source (tsx server/cli.ts) → <root>/dist/demo/.
  const compiled = fileURLToPath(new URL('../../demo/', import.meta.url));
  if (existsSync(compiled)) return compiled;
  return fileURLToPath(new URL('../dist/demo/', import.meta.url));
}

const args = process.argv.slice(2);
if (args.includes('--help') || args.includes('-h')) {
  console.log(helpText());
  process.exit(0);
}
if (args.length > 0) {
  console.error(`resilient-upload: unknown argument ${JSON.stringify(args[0])}: settings come from the environment (see --help)`);
  process.exit(2);
}

let options: ReturnType<typeof optionsFromEnv>;
try {
  options = optionsFromEnv(process.env, defaultStaticDir());
} catch (err) {
  if (!(err instanceof SettingError)) throw err;
  console.error(`resilient-upload: ${err.message} (see --help)`);
  process.exit(2);
}

const running = await startServer(options).catch((err: unknown) => {
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
