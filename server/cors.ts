export type CorsOrigins = readonly string[] | '*';

/**
 * Always allowed besides each protocol's own: `Authorization` because the page library's `add()`
 * passes the app's credentials in it (browsers never cover it by `*`), `Content-Type` for bodies.
 */
const ALWAYS_ALLOWED = ['Authorization', 'Content-Type'];

/** CORS for the upload API: which origins, which request headers they may send, which response headers they read. */
export class Cors {
  readonly #origins: CorsOrigins | undefined;
  readonly #allowHeaders: string;
  readonly #exposeHeaders: string;

  constructor(origins: CorsOrigins | undefined, headers: { request: readonly string[]; response: readonly string[] }) {
    this.#origins = origins;
    this.#allowHeaders = unique([...headers.request, ...ALWAYS_ALLOWED]).join(', ');
    this.#exposeHeaders = unique(headers.response).join(', ');
  }

  /**
   * Headers for an actual (non-preflight) response; empty when the origin is not allowed.
   * `'*'` allows any site but never with credentials: browsers then send no cookies, so no other
   * site can act as a logged-in user (e.g. DELETE their uploads). Credentials are allowed only for
   * origins listed by name, each echoed back (with `Vary: Origin`, as the answer depends on it).
   */
  headers(origin: string | undefined): Record<string, string> {
    const origins = this.#origins;
    if (!origins || origin === undefined) return {};
    if (origins === '*') return { 'access-control-allow-origin': '*', 'access-control-expose-headers': this.#exposeHeaders };
    if (!origins.includes(origin)) return {};
    return {
      'access-control-allow-origin': origin,
      'access-control-allow-credentials': 'true',
      'access-control-expose-headers': this.#exposeHeaders,
      vary: 'Origin',
    };
  }

  /** Extra headers answering a preflight for a path that answers `allow` (e.g. `GET, HEAD, OPTIONS`), added to headers(). */
  preflight(allow: string): Record<string, string> {
    return {
      'access-control-allow-methods': allow,
      'access-control-allow-headers': this.#allowHeaders,
      'access-control-max-age': '600',
    };
  }
}

/** Header names are case-insensitive: one of each. */
function unique(names: readonly string[]): string[] {
  const seen = new Map<string, string>();
  for (const n of names) if (!seen.has(n.toLowerCase())) seen.set(n.toLowerCase(), n);
  return [...seen.values()];
}
