// How a transport's requests reach the network. A wire-protocol module builds requests and reads
// answers; an HttpClient carries them: fetch from the worker, or XMLHttpRequest in an open page
// (page-assisted uploads: full speed and upload progress, which fetch lacks).

export interface HttpRequest {
  readonly method: string;
  readonly url: string;
  readonly headers: Readonly<Record<string, string>>;
  readonly body?: Blob;
}

/** An answer, read whole (upload answers are small). */
export interface HttpResponse {
  readonly status: number;
  readonly statusText: string;
  header(name: string): string | null;
  readonly text: string;
}

export interface SendOptions {
  readonly signal: AbortSignal;
  /** Body bytes handed to the network so far, where the client can tell (XHR can, fetch cannot). */
  readonly onSent?: (bytes: number) => void;
}

/** Rejects when no answer came (network error, abort); any HTTP status resolves. */
export interface HttpClient {
  send(request: HttpRequest, options: SendOptions): Promise<HttpResponse>;
}

/** The worker's own client. */
export class FetchHttpClient implements HttpClient {
  readonly #fetch: typeof fetch;
  readonly #credentials: RequestCredentials;

  constructor(fetchFn: typeof fetch, credentials: RequestCredentials = 'same-origin') {
    this.#fetch = fetchFn;
    this.#credentials = credentials;
  }

  async send(request: HttpRequest, options: SendOptions): Promise<HttpResponse> {
    const response = await this.#fetch(request.url, {
      method: request.method,
      headers: request.headers,
      ...(request.body === undefined ? {} : { body: request.body }),
      signal: options.signal,
      credentials: this.#credentials,
      cache: 'no-store',
    });
    const text = await response.text();
    return { status: response.status, statusText: response.statusText, header: (name) => response.headers.get(name), text };
  }
}
