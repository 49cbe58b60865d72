// A Transport the test drives step by step, in the spirit of tus-js-client's TestHttpStack: the
// test awaits the engine's next request, looks at it, and answers it. Or it sets a responder
// that answers every request at once (a server that is down, say).
import type { AppendLimits, AppendRequest, ProgressOutcome, RequestContext, Transport, TransportOutcome, TransportUpload } from '../../../sw/transport/port.js';

export interface Call {
  readonly kind: 'status' | 'append' | 'cancel' | 'progress';
  readonly upload: TransportUpload;
  readonly chunk?: AppendRequest;
  readonly ctx: RequestContext;
  /** Answers the request (a request aborted meanwhile answers `aborted` by itself). */
  respond(outcome: ProgressOutcome): void;
  /** The answer given, once there is one. */
  readonly answered: Promise<ProgressOutcome>;
}

export type Responder = (call: Call) => ProgressOutcome | undefined;

export class ScriptedTransport implements Transport {
  /** Every request, in order. */
  readonly calls: Call[] = [];
  readonly #waiting: Array<(call: Call) => void> = [];
  readonly #unclaimed: Call[] = [];
  #responder: Responder | undefined;
  /** Whether the scripted server checks a whole-file digest (X-File-Digest). */
  fileDigests = false;
  /** Whether a new upload may begin with an append at 0 (as status/slice does). */
  appendsAtZero = false;

  appendsFirst(): boolean {
    return this.appendsAtZero;
  }

  /** What one append may carry, as a server would say (undefined: no limit). */
  limits: AppendLimits | undefined;

  appendLimits(): AppendLimits | undefined {
    return this.limits;
  }

  supportsFileDigest(): boolean {
    return this.fileDigests;
  }

  /**
   * Whether the scripted server answers `progress` (GET /progress): false (the default) keeps the
   * loop from asking; undefined makes it ask once to learn.
   */
  streaming: boolean | undefined = false;

  streams(): boolean | undefined {
    return this.streaming;
  }

  /** Uploads the engine said showed no progress while they streamed (Transport.unstreamed). */
  readonly unstreamedFor: string[] = [];

  unstreamed(upload: TransportUpload): void {
    this.unstreamedFor.push(upload.id);
    this.streaming = false; // as the real transport does for the endpoint
  }

  progress(upload: TransportUpload, ctx: RequestContext): Promise<ProgressOutcome> {
    return this.#call('progress', upload, ctx);
  }

  /** Answers each new request with `responder`'s outcome; `undefined` leaves it to the test. */
  respondWith(responder: Responder | undefined): void {
    this.#responder = responder;
  }

  /** The next request the engine makes (queued ones first). */
  next(): Promise<Call> {
    const call = this.#unclaimed.shift();
    if (call !== undefined) return Promise.resolve(call);
    return new Promise((resolve) => this.#waiting.push(resolve));
  }

  status(upload: TransportUpload, ctx: RequestContext): Promise<TransportOutcome> {
    return this.#call('status', upload, ctx) as Promise<TransportOutcome>;
  }

  append(upload: TransportUpload, chunk: AppendRequest, ctx: RequestContext): Promise<TransportOutcome> {
    return this.#call('append', upload, ctx, chunk) as Promise<TransportOutcome>;
  }

  cancel(upload: TransportUpload, ctx: RequestContext): Promise<TransportOutcome> {
    return this.#call('cancel', upload, ctx) as Promise<TransportOutcome>;
  }

  // `unsupported` is answered only to `progress`: the tests that script it say so.
  #call(kind: Call['kind'], upload: TransportUpload, ctx: RequestContext, chunk?: AppendRequest): Promise<ProgressOutcome> {
    let respond!: (outcome: ProgressOutcome) => void;
    const answered = new Promise<ProgressOutcome>((resolve) => {
      respond = resolve;
    });
    // Like fetch: an abort ends the request at once.
    const onAbort = (): void => respond({ kind: 'aborted' });
    if (ctx.signal.aborted) onAbort();
    else ctx.signal.addEventListener('abort', onAbort, { once: true });
    const call: Call = { kind, upload, ctx, ...(chunk === undefined ? {} : { chunk }), respond, answered };
    this.calls.push(call);
    const auto = this.#responder?.(call);
    if (auto !== undefined) respond(auto);
    else {
      const waiter = this.#waiting.shift();
      if (waiter !== undefined) waiter(call);
      else this.#unclaimed.push(call);
    }
    return answered;
  }
}

/** A server that holds `offset` bytes. */
export const at = (offset: number, complete = false): TransportOutcome => ({ kind: 'offset', offset, complete });
