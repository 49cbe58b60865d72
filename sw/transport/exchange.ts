// One HTTP exchange, for the tus and IETF transports: a request through the HttpClient under the
// caller's signal, and a request that got no answer told apart — aborted, unreachable, a page that
// carried it gone (re-sync), or refused by CORS. fetch reports the last ones as the same TypeError;
// for another origin a probe tells them apart.
import { UploadError } from '../../src/protocol/index.js';
import type { HttpClient, HttpRequest, HttpResponse } from './http-client.js';
import { noAnswer } from './http-errors.js';
import type { RequestContext, TransportOutcome } from './port.js';

export type { HttpRequest };

/** What a response looked like, as the pure classifiers need it. */
export type ResponseFacts = Pick<HttpResponse, 'status' | 'header' | 'text'> & { readonly statusText?: string };

export type Exchange = { readonly kind: 'answer'; readonly res: ResponseFacts } | Exclude<TransportOutcome, { kind: 'offset' }>;

/**
 * After a request to another origin got no answer: the origin CORS refused, when the server is
 * there but its CORS headers refused the request (so the row says so instead of "unreachable").
 */
export type CorsProbe = (request: HttpRequest, signal: AbortSignal) => Promise<string | undefined>;

export interface HttpExchangeOptions {
  /** Carries the requests: the worker's fetch, or a page's XHR for bodies (page-assisted uploads). */
  readonly http: HttpClient;
  /** Absent: a failure is never called CORS. */
  readonly corsProbe?: CorsProbe;
}

export class HttpExchange {
  readonly #http: HttpClient;
  readonly #corsProbe: CorsProbe | undefined;

  constructor(options: HttpExchangeOptions) {
    this.#http = options.http;
    this.#corsProbe = options.corsProbe;
  }

  /** Never throws: an answer (whatever its status), aborted, a re-sync, or failed with NETWORK or CORS. */
  async send(request: HttpRequest, ctx: RequestContext): Promise<Exchange> {
    const what = `${request.method} ${pathOf(request.url)}`;
    const sent = { ...request, headers: { ...ctx.headers, ...request.headers } };
    try {
      const res = await this.#http.send(sent, { signal: ctx.signal, ...(ctx.onSent === undefined ? {} : { onSent: ctx.onSent }) });
      return { kind: 'answer', res };
    } catch (cause) {
      if (ctx.signal.aborted) return { kind: 'aborted' };
      const refused = await this.#corsProbe?.(sent, ctx.signal);
      if (refused !== undefined) {
        const message = `${what} failed: the server at ${new URL(request.url).origin} answers, but its CORS headers (Access-Control-Allow-Origin, -Headers, -Methods) do not allow this request from ${refused}`;
        return { kind: 'failed', error: new UploadError('CORS', message, { cause }) };
      }
      if (ctx.signal.aborted) return { kind: 'aborted' };
      return noAnswer(what, cause);
    }
  }
}

/**
 * The probe for fetch, to another origin only: the same headers in a HEAD (its preflight asks what
 * the failed one asked) that fails too, while an opaque no-cors HEAD gets through, means the server
 * is there and CORS is what refused. A CORS HEAD that gets through means the network dropped the first.
 */
export function fetchCorsProbe(fetchFn: typeof fetch, credentials: RequestCredentials, origin: string): CorsProbe {
  return async (request, signal) => {
    let target: URL;
    try {
      target = new URL(request.url);
    } catch {
      return undefined;
    }
    if (target.origin === origin) return undefined;
    const probe = (init: RequestInit): Promise<boolean> =>
      fetchFn(request.url, { method: 'HEAD', signal, credentials, cache: 'no-store', ...init }).then(
        () => true,
        () => false,
      );
    if (await probe({ headers: request.headers })) return undefined;
    return (await probe({ mode: 'no-cors' })) ? origin : undefined;
  };
}

function pathOf(url: string): string {
  try {
    return new URL(url).pathname;
  } catch {
    return url;
  }
}
