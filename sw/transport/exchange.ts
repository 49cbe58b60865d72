// One HTTP exchange, for every transport: fetch under the caller's signal, the answer read whole,
// and a request that got no answer told apart — aborted, unreachable, or refused by CORS. fetch
// reports all of the last two as the same TypeError; for another origin a probe tells them apart.
import { UploadError } from '../../src/protocol/index.js';
import { unreachable } from './http-errors.js';
import type { RequestContext } from './port.js';

/** What a response looked like, as the pure classifiers need it. */
export interface ResponseFacts {
  readonly status: number;
  readonly statusText?: string;
  header(name: string): string | null;
  readonly text: string;
}

export type Exchange =
  | { readonly kind: 'answer'; readonly res: ResponseFacts }
  | { readonly kind: 'aborted' }
  | { readonly kind: 'failed'; readonly error: UploadError };

export interface HttpExchangeOptions {
  readonly fetch: typeof fetch;
  /** `same-origin` (default) or `include` for cookie sessions on another origin. */
  readonly credentials?: RequestCredentials;
  /** The worker's origin: requests elsewhere are CORS requests. */
  readonly origin?: string;
}

export interface HttpRequest {
  readonly method: string;
  readonly url: string;
  readonly headers: Readonly<Record<string, string>>;
  readonly body?: Blob;
}

export class HttpExchange {
  readonly #fetch: typeof fetch;
  readonly #credentials: RequestCredentials;
  readonly #origin: string | undefined;

  constructor(options: HttpExchangeOptions) {
    this.#fetch = options.fetch;
    this.#credentials = options.credentials ?? 'same-origin';
    this.#origin = options.origin;
  }

  /** Never throws: an answer (whatever its status), aborted, or failed with NETWORK or CORS. */
  async send(request: HttpRequest, ctx: RequestContext): Promise<Exchange> {
    const what = `${request.method} ${pathOf(request.url)}`;
    try {
      const response = await this.#fetch(request.url, {
        method: request.method,
        headers: { ...ctx.headers, ...request.headers },
        ...(request.body === undefined ? {} : { body: request.body }),
        signal: ctx.signal,
        credentials: this.#credentials,
        cache: 'no-store',
      });
      const text = await response.text();
      return { kind: 'answer', res: { status: response.status, statusText: response.statusText, header: (name) => response.headers.get(name), text } };
    } catch (cause) {
      if (ctx.signal.aborted) return { kind: 'aborted' };
      if (await this.#refusedByCors(request, ctx)) {
        const origin = this.#origin ?? 'this origin';
        return {
          kind: 'failed',
          error: new UploadError(
            'CORS',
            `${what} failed: the server at ${new URL(request.url).origin} answers, but not to ${origin} (its CORS headers do not allow this request: Access-Control-Allow-Origin, -Headers or -Methods)`,
            { cause },
          ),
        };
      }
      if (ctx.signal.aborted) return { kind: 'aborted' };
      return { kind: 'failed', error: unreachable(what, cause) };
    }
  }

  /**
   * For another origin only: the same headers in a HEAD (its preflight asks what the failed one
   * asked) that fails too, while an opaque no-cors HEAD gets through, means the server is there
   * and CORS is what refused. A CORS HEAD that gets through means the first failure was the network.
   */
  async #refusedByCors(request: HttpRequest, ctx: RequestContext): Promise<boolean> {
    let target: URL;
    try {
      target = new URL(request.url);
    } catch {
      return false;
    }
    if (this.#origin === undefined || target.origin === this.#origin) return false;
    const probe = (init: RequestInit): Promise<boolean> =>
      this.#fetch(request.url, { method: 'HEAD', signal: ctx.signal, credentials: this.#credentials, cache: 'no-store', ...init }).then(
        () => true,
        () => false,
      );
    if (await probe({ headers: { ...ctx.headers, ...request.headers } })) return false;
    return probe({ mode: 'no-cors' });
  }
}

function pathOf(url: string): string {
  try {
    const u = new URL(url);
    return u.pathname;
  } catch {
    return url;
  }
}
