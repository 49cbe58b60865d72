import { REQUEST_HEADERS, RESPONSE_HEADERS } from '../src/protocol/wire.js';

export type CorsOrigins = readonly string[] | '*';

const ALLOW_METHODS = 'GET, HEAD, POST, DELETE, OPTIONS';
const ALLOW_HEADERS = [...REQUEST_HEADERS, 'Content-Type'].join(', ');
const EXPOSE_HEADERS = RESPONSE_HEADERS.join(', ');

/** Headers for an actual (non-preflight) response; empty when the origin is not allowed. */
export function corsHeaders(origins: CorsOrigins | undefined, origin: string | undefined): Record<string, string> {
  if (!origins || origin === undefined) return {};
  const allowed = origins === '*' || origins.includes(origin);
  if (!allowed) return {};
  return {
    // Echoing the origin (not `*`) keeps credentialed requests working and needs Vary.
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
