// The CLI's settings: every environment variable it reads, its default, and the option it sets.
// One table, so `--help`, the parsing and the README cannot drift apart.
import { parseByteCount } from '../src/protocol/wire.js';
import type { StartServerOptions } from './http.js';
import { SERVER_DEFAULTS } from './http.js';
import { DEFAULTS } from './options.js';
import { storageFromUrl } from './s3/storage-url.js';

type Options = StartServerOptions & { port: number };

interface Setting {
  readonly name: string;
  /** The default as --help shows it. */
  readonly shown: string;
  readonly help: string;
  readonly apply: (raw: string, into: Options) => void;
}

/** A malformed variable; the CLI prints it and exits with status 2. */
export class SettingError extends Error {
  override readonly name = 'SettingError';
}

function integer(name: string, raw: string, min: number, max = Number.MAX_SAFE_INTEGER): number {
  const n = parseByteCount(raw.trim());
  if (n === undefined || n < min || n > max) {
    throw new SettingError(`${name} must be a whole number from ${min} to ${max}, got ${JSON.stringify(raw)}`);
  }
  return n;
}

/** A setting that takes a whole number from `min` up. */
function whole(name: string, min: number, shown: string, help: string, set: (into: Options, n: number) => void, max?: number): Setting {
  return { name, shown, help, apply: (raw, into) => set(into, integer(name, raw, min, max)) };
}

/** A setting that takes text as it is. */
function text(name: string, shown: string, help: string, set: (into: Options, value: string) => void): Setting {
  return { name, shown, help, apply: (raw, into) => set(into, raw) };
}

function list(raw: string): string[] {
  return raw
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '');
}

function origins(raw: string): '*' | string[] {
  if (raw.trim() === '*') return '*';
  const out = list(raw);
  for (const o of out) {
    let origin: string | undefined;
    try {
      origin = new URL(o).origin;
    } catch {
      origin = undefined;
    }
    if (origin !== o) throw new SettingError(`CORS_ORIGINS: ${JSON.stringify(o)} is not an origin (scheme://host[:port], no path or trailing slash)`);
  }
  return out;
}

/** A default in ms, as the variable takes it and in words: `20000 (20 s)`. */
function ms(value: number): string {
  const [n, unit] = value % 3_600_000 === 0 ? [value / 3_600_000, 'h'] : value % 60_000 === 0 ? [value / 60_000, 'min'] : [value / 1000, 's'];
  return `${value} (${n} ${unit})`;
}

export const SETTINGS: readonly Setting[] = [
  whole('PORT', 0, '8080', 'TCP port; 0 picks a free one', (o, n) => (o.port = n), 65535),
  text('HOST', SERVER_DEFAULTS.host, 'address to listen on (0.0.0.0 or :: for every interface)', (o, v) => (o.host = v)),
  text('UPLOAD_DIR', DEFAULTS.uploadDir, 'where uploads are stored (partial/ and complete/)', (o, v) => (o.uploadDir = v)),
  text(
    'STORAGE_URL',
    'none (the disk store in UPLOAD_DIR)',
    's3://<bucket>/<prefix>: S3 storage that any number of instances share, reached with the standard AWS_* variables (AWS_ENDPOINT_URL, AWS_REGION, AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_REQUEST_CHECKSUM_CALCULATION, …)',
    (o, v) => {
      const storage = storageFromUrl(v);
      if (!storage) throw new SettingError(`STORAGE_URL must look like s3://<bucket>/<prefix>, got ${JSON.stringify(v)}`);
      o.storage = storage;
    },
  ),
  text(
    'STATIC_DIR',
    'the built demo (dist/demo)',
    'files served at every path outside the API; a missing directory serves a placeholder page',
    (o, v) => (o.staticDir = v),
  ),
  whole('MAX_UPLOAD_SIZE', 0, String(DEFAULTS.maxUploadSize), 'largest upload accepted, in bytes (413 past it)', (o, n) => (o.maxUploadSize = n)),
  whole(
    'IETF_MIN_APPEND_SIZE',
    1,
    'none',
    'IETF draft: the least bytes an append that does not complete its upload may carry (min-append-size; 400 below it)',
    (o, n) => (o.ietfAppendSize = { ...o.ietfAppendSize, min: n }),
  ),
  whole(
    'IETF_MAX_APPEND_SIZE',
    1,
    'none',
    'IETF draft: the most bytes one append may carry (max-append-size; 413 past it)',
    (o, n) => (o.ietfAppendSize = { ...o.ietfAppendSize, max: n }),
  ),
  text(
    'CORS_ORIGINS',
    'none',
    'origins allowed cross-origin, comma-separated (they may send credentials), or * (any origin, no credentials)',
    (o, v) => (o.corsOrigins = origins(v)),
  ),
  text(
    'CORS_ALLOWED_HEADERS',
    'none',
    'request headers cross-origin pages may send besides the protocol headers and Authorization (always allowed), comma-separated',
    (o, v) => (o.corsAllowedHeaders = list(v)),
  ),
  whole(
    'HEADERS_TIMEOUT_MS',
    1,
    ms(SERVER_DEFAULTS.headersTimeoutMs),
    'a connection must send complete request headers within this long (else 408)',
    (o, n) => (o.headersTimeoutMs = n),
  ),
  whole(
    'IDLE_TIMEOUT_MS',
    1,
    ms(DEFAULTS.idleTimeoutMs),
    'a request body that sends nothing for this long is ended (408; what arrived is kept)',
    (o, n) => (o.idleTimeoutMs = n),
  ),
  whole(
    'MIN_BYTES_PER_SECOND',
    0,
    String(DEFAULTS.minBytesPerSecond),
    'slowest average body rate tolerated over RATE_WINDOW_MS of waiting on the client (408 below it); 0 turns it off',
    (o, n) => (o.minBytesPerSecond = n),
  ),
  whole('RATE_WINDOW_MS', 1, ms(DEFAULTS.rateWindowMs), 'the window of MIN_BYTES_PER_SECOND', (o, n) => (o.rateWindowMs = n)),
  whole(
    'KEEP_ALIVE_TIMEOUT_MS',
    1,
    ms(SERVER_DEFAULTS.keepAliveTimeoutMs),
    'an idle keep-alive connection is closed after this long',
    (o, n) => (o.keepAliveTimeoutMs = n),
  ),
  whole(
    'TAKEOVER_TIMEOUT_MS',
    1,
    ms(DEFAULTS.takeoverTimeoutMs),
    'how long a newer request for an upload waits for the older one to let go (else 503)',
    (o, n) => (o.takeoverTimeoutMs = n),
  ),
  whole(
    'CLOSE_TIMEOUT_MS',
    0,
    ms(DEFAULTS.closeTimeoutMs),
    'on SIGTERM/SIGINT, how long requests in flight may finish before they are cut (data kept)',
    (o, n) => (o.closeTimeoutMs = n),
  ),
  whole(
    'STALE_AFTER_MS',
    1,
    ms(DEFAULTS.staleAfterMs),
    'unfinished uploads untouched this long are removed by the sweep',
    (o, n) => (o.staleAfterMs = n),
  ),
  whole('SWEEP_INTERVAL_MS', 0, ms(DEFAULTS.sweepIntervalMs), 'how often the sweep runs; 0 turns it off', (o, n) => (o.sweepIntervalMs = n)),
  whole(
    'MAX_PARTIAL_UPLOADS',
    1,
    'no limit',
    'unfinished uploads the server holds (429 past it); the CLI has one namespace, so this is for all clients together',
    (o, n) => (o.namespaceLimits = { ...o.namespaceLimits, maxPartialUploads: n }),
  ),
  whole(
    'MAX_PARTIAL_BYTES',
    1,
    'no limit',
    'bytes unfinished uploads may hold, counting each at its declared size (507 past it; 413 for an upload larger than this)',
    (o, n) => (o.namespaceLimits = { ...o.namespaceLimits, maxPartialBytes: n }),
  ),
];

/** The options the environment asks for; throws a SettingError naming the first malformed variable. */
export function optionsFromEnv(env: Readonly<Record<string, string | undefined>>, staticDir: string): Options {
  const options: Options = { port: 8080, uploadDir: DEFAULTS.uploadDir, staticDir };
  for (const setting of SETTINGS) {
    const raw = env[setting.name];
    if (raw !== undefined && raw !== '') setting.apply(raw, options);
  }
  return options;
}

export function helpText(): string {
  const width = Math.max(...SETTINGS.map((x) => x.name.length));
  const rows = SETTINGS.map((x) => `  ${x.name.padEnd(width)}  ${x.help}; default: ${x.shown}`);
  return [
    'resilient-upload-server: the upload API (status/slice protocol) and the demo page on one port.',
    '',
    'Usage: [VARIABLE=value ...] resilient-upload-server [--help]',
    '',
    'Settings, from the environment:',
    ...rows,
    '',
    'Security: this server has no authorization. Anyone who can reach it and knows an upload id',
    '(name-size-lastModified) can append to it, take it over or cancel it. Run it behind something',
    'that authenticates, or embed createUploadHandler with an authorize() hook (see the README).',
    '',
    'SIGTERM or SIGINT stop it cleanly: requests in flight finish (up to CLOSE_TIMEOUT_MS), data is kept.',
  ].join('\n');
}
