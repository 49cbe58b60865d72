// Settings of the ready-made worker, read from its own URL (`/resilient-upload-sw.js?digest=0`),
// since a classic worker script has no other way to be configured.
import { UPLOAD_PROTOCOLS, UploadError } from '../src/protocol/index.js';
import type { InstallOptions } from './install.js';

type QueryOptions = Pick<InstallOptions, 'endpoint' | 'protocol' | 'concurrency' | 'digest' | 'integrity' | 'timeouts' | 'files' | 'credentials'>;

function positive(params: URLSearchParams, key: string): number | undefined {
  const raw = params.get(key);
  if (raw === null) return undefined;
  const n = Number(raw);
  if (!Number.isFinite(n) || n <= 0) throw new UploadError('INVALID_ARGUMENT', `resilient-upload-sw.js?${key}= must be a positive number, got '${raw}'`);
  return n;
}

function oneOf<T extends string>(params: URLSearchParams, key: string, allowed: readonly T[]): T | undefined {
  const raw = params.get(key);
  if (raw === null) return undefined;
  if (!(allowed as readonly string[]).includes(raw)) throw new UploadError('INVALID_ARGUMENT', `resilient-upload-sw.js?${key}= must be one of ${allowed.join(', ')}, got '${raw}'`);
  return raw as T;
}

/**
 * `endpoint`, `protocol` (status-slice/tus/ietf), `concurrency`, `digest` (0/1), `integrity` (file/chunks),
 * `timeoutBaseMs` and `timeoutMinBytesPerSecond`
 * (a request may take baseMs plus its body at that rate), `files` (blob/chunks) and
 * `credentials` (same-origin/include). Unknown keys are ignored.
 */
export function optionsFromQuery(params: URLSearchParams): QueryOptions {
  const endpoint = params.get('endpoint') ?? undefined;
  const protocol = oneOf(params, 'protocol', UPLOAD_PROTOCOLS);
  const concurrency = positive(params, 'concurrency');
  const baseMs = positive(params, 'timeoutBaseMs');
  const minBytesPerSecond = positive(params, 'timeoutMinBytesPerSecond');
  const digest = params.get('digest');
  const files = oneOf(params, 'files', ['blob', 'chunks'] as const);
  const integrity = oneOf(params, 'integrity', ['file', 'chunks'] as const);
  const credentials = oneOf(params, 'credentials', ['same-origin', 'include', 'omit'] as const);
  return {
    ...(endpoint === undefined ? {} : { endpoint }),
    ...(protocol === undefined ? {} : { protocol }),
    ...(concurrency === undefined ? {} : { concurrency }),
    ...(digest === null ? {} : { digest: digest !== '0' && digest !== 'false' }),
    ...(baseMs === undefined && minBytesPerSecond === undefined
      ? {}
      : { timeouts: { ...(baseMs === undefined ? {} : { baseMs }), ...(minBytesPerSecond === undefined ? {} : { minBytesPerSecond }) } }),
    ...(files === undefined ? {} : { files }),
    ...(integrity === undefined ? {} : { integrity }),
    ...(credentials === undefined ? {} : { credentials }),
  };
}
