import { REQUEST_HEADERS, RESPONSE_HEADERS } from '../src/protocol/wire.js';

export type CorsOrigins = readonly string[] | '*';

const ALLOW_METHODS = 'GET, HEAD, POST, DELETE, OPTIONS';
const ALLOW_HEADERS = [...REQUEST_HEADERS, 'Content-Type'].join(', ');
const EXPOSE_HEADERS = RESPONSE_HEADERS.join(', ');

/**
 * Headers for an actual (non-preflight) response; empty when the origin is not allowed.
 * `'*'` allows any site but never with credentials: browsers then send no cookies, so no other
 * site can act as a logged-in user (e.g. DELETE their uploads). Credentials are allowed only for
 * origins listed by name, each echoed back (with `Vary: Origin`, as the answer depends on it).
 */
export function corsHeaders(origins: CorsOrigins | undefined, origin: string | undefined): Record<string, string> {
  if (!origins || origin === undefined) return {};
  if (origins === '*') {
    return { 'access-control-allow-origin': '*', 'access-control-expose-headers': EXPOSE_HEADERS };
  }
  if (!origins.includes(origin)) return {};
  return {
    'access-control-allow-origin': origin,
    'access-control-allow-credentials': 'true',
    'access-control-expose-headers': EXPOSE_HEADERS,
    vary: 'Origin',
  };
}

/** Extra headers answering a preflight, added to corsHeaders(). */
export function preflightHeaders(): Record<string, string> {
  return {
    'access-control-allow-methods': ALLOW_METHODS,
    'access-control-allow-headers': ALLOW_HEADERS,
    'access-control-max-age': '600',
  };
}
