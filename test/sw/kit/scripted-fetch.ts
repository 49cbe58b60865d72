// A fetch the test scripts, for the transports' own tests: every request is recorded (method,
// URL, headers, body size, mode) and answered by the test's responder, or refused like fetch
// refuses (a TypeError) when the responder says so. No sockets, no timers.
import { fetchCorsProbe, type CorsProbe } from '../../../sw/transport/exchange.js';
import { FetchHttpClient } from '../../../sw/transport/http-client.js';

export interface FetchCall {
  readonly method: string;
  readonly url: string;
  readonly headers: Readonly<Record<string, string>>;
  readonly bodyBytes: number;
  readonly mode: RequestMode;
}

/** An answer: status, headers, text; or `'refused'` for a fetch that rejects (network, CORS). */
export type Answer = { readonly status: number; readonly headers?: Record<string, string>; readonly text?: string } | 'refused';

export class ScriptedFetch {
  readonly calls: FetchCall[] = [];
  readonly #respond: (call: FetchCall) => Answer;

  constructor(respond: (call: FetchCall) => Answer) {
    this.#respond = respond;
  }

  readonly fetch = async (input: RequestInfo | URL, init: RequestInit = {}): Promise<Response> => {
    const headers = Object.fromEntries(new Headers(init.headers).entries());
    const body = init.body;
    const call: FetchCall = {
      method: init.method ?? 'GET',
      url: String(input),
      headers,
      bodyBytes: body instanceof Blob ? body.size : 0,
      mode: init.mode ?? 'cors',
    };
    this.calls.push(call);
    if (init.signal?.aborted) throw new DOMException('aborted', 'AbortError');
    const answer = this.#respond(call);
    if (answer === 'refused') throw new TypeError('Failed to fetch');
    const bodyless = answer.status === 204 || call.method === 'HEAD';
    return new Response(bodyless ? null : (answer.text ?? ''), { status: answer.status, headers: answer.headers ?? {} });
  };

  /** The calls, as `METHOD path` lines. */
  lines(): string[] {
    return this.calls.map((c) => `${c.method} ${new URL(c.url).pathname}${c.mode === 'no-cors' ? ' (no-cors)' : ''}`);
  }
}

export const ctx = (): { signal: AbortSignal; headers: Record<string, string> } => ({ signal: new AbortController().signal, headers: { Authorization: 'Bearer t' } });

/** A transport's HttpClient and CORS probe over this fetch, as installUploader builds them. */
export function overFetch(f: ScriptedFetch, origin: string): { http: FetchHttpClient; corsProbe: CorsProbe } {
  return { http: new FetchHttpClient(f.fetch), corsProbe: fetchCorsProbe(f.fetch, 'same-origin', origin) };
}
