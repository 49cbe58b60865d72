// Settings of the ready-made sw.js, read from its own URL (`/sw.js?concurrency=2&digest=0`),
// since a classic worker script has no other way to be configured.
import { UploadError } from '../src/protocol/index.js';
import type { InstallOptions } from './install.js';

type Engine = NonNullable<InstallOptions['engine']>;

function positive(params: URLSearchParams, key: string): number | undefined {
  const raw = params.get(key);
  if (raw === null) return undefined;
  const n = Number(raw);
  if (!Number.isFinite(n) || n <= 0) throw new UploadError('INVALID_ARGUMENT', `sw.js?${key}= must be a positive number, got '${raw}'`);
  return n;
}

/**
 * `endpoint`, `concurrency`, `digest` (0/1), `timeoutBaseMs` and `timeoutMinBytesPerSecond`
 * (a request may take baseMs plus its body at that rate). Unknown keys are ignored.
 */
export function optionsFromQuery(params: URLSearchParams): Pick<InstallOptions, 'endpoint' | 'concurrency' | 'engine'> {
  const endpoint = params.get('endpoint') ?? undefined;
  const concurrency = positive(params, 'concurrency');
  const baseMs = positive(params, 'timeoutBaseMs');
  const minBytesPerSecond = positive(params, 'timeoutMinBytesPerSecond');
  const digest = params.get('digest');
  const engine: { -readonly [K in keyof Engine]: Engine[K] } = {};
  if (digest !== null) engine.digest = digest !== '0' && digest !== 'false';
  if (baseMs !== undefined || minBytesPerSecond !== undefined) {
    engine.timeouts = { ...(baseMs === undefined ? {} : { baseMs }), ...(minBytesPerSecond === undefined ? {} : { minBytesPerSecond }) };
  }
  return {
    ...(endpoint === undefined ? {} : { endpoint }),
    ...(concurrency === undefined ? {} : { concurrency }),
    engine,
  };
}
