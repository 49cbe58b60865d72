// Page-assisted uploads, the worker's side: open pages that offered to carry upload bodies (see
// src/courier.ts), and an HttpClient that hands bodies to one of them. The worker waits on a Web
// Lock the page holds, so it learns at once when the page goes away (closed, navigated, crashed)
// and the upload loop resumes from the server's status on the worker's own fetch. Where Web Locks
// are missing, a page that stays silent too long counts as gone.
import type { CourierOffer, CourierReport, CourierRequest } from '../src/protocol/index.js';
import type { Clock } from './clock.js';
import type { HttpClient, HttpRequest, HttpResponse, SendOptions } from './transport/http-client.js';

/** The part of `navigator.locks` the worker uses. */
export interface LocksLike {
  request(name: string, options: { ifAvailable?: boolean; signal?: AbortSignal }, callback: (lock: unknown) => Promise<unknown> | unknown): Promise<unknown>;
}

/** The page that carried a request went away before it answered: where the server stands is unknown. */
export class CourierGone extends Error {
  override readonly name = 'CourierGone';
  constructor() {
    super('the page carrying the upload went away');
  }
}

export interface CourierPoolOptions {
  readonly clock: Clock;
  readonly locks: LocksLike | undefined;
  readonly newId: () => string;
  /** A running job with no word from its page for this long counts as gone (where Web Locks are missing). */
  readonly silenceMs?: number;
  /** Time allowed for a page's last answer to arrive after its lock was released. */
  readonly graceMs?: number;
}

interface Job {
  readonly courier: Courier;
  readonly onSent: ((bytes: number) => void) | undefined;
  readonly resolve: (response: HttpResponse) => void;
  readonly reject: (error: Error) => void;
  heardAt: number;
  /** The page said something about this job (it took it). */
  heard: boolean;
  /** Set once the worker aborted the job: ends it when the page says its request is over. */
  aborting: (() => void) | undefined;
}

interface Courier {
  readonly id: string;
  readonly port: MessagePort;
  readonly jobs: Map<string, Job>;
  alive: boolean;
  /** It let a job go untaken: no new job goes to it until it says something again. */
  stalled: boolean;
}

export class CourierPool {
  readonly #options: CourierPoolOptions;
  /** Newest last: a job goes to the page that offered last. */
  readonly #couriers: Courier[] = [];

  constructor(options: CourierPoolOptions) {
    this.#options = options;
  }

  /** A page offers to carry; `port` is the channel it sent along. */
  add(offer: CourierOffer, port: MessagePort): void {
    const courier: Courier = { id: offer.courierId, port, jobs: new Map(), alive: true, stalled: false };
    this.#couriers.push(courier);
    port.onmessage = (event: MessageEvent<CourierReport>) => this.#onReport(courier, event.data);
    const locks = this.#options.locks;
    // The page holds its life lock until it goes away; then this request is granted.
    if (offer.lifeLock !== undefined && locks !== undefined) void locks.request(offer.lifeLock, {}, () => this.#gone(courier));
  }

  /** Whether some page can carry a request now. */
  get available(): boolean {
    return this.#couriers.some((c) => c.alive && !c.stalled);
  }

  /** Sends `request` through the newest live page. Rejects with CourierGone when that page goes away first. */
  send(request: CourierRequest, options: SendOptions): Promise<HttpResponse> {
    const courier = [...this.#couriers].reverse().find((c) => c.alive && !c.stalled);
    if (courier === undefined) return Promise.reject(new CourierGone());
    const jobId = this.#options.newId();
    const jobLock = `resilient-upload:job:${jobId}`;
    return new Promise<HttpResponse>((resolve, reject) => {
      const { clock } = this.#options;
      let timer: unknown;
      const settle = (): void => {
        clock.clearTimeout(timer);
        options.signal.removeEventListener('abort', onAbort);
        courier.jobs.delete(jobId);
      };
      const job: Job = {
        courier,
        onSent: options.onSent,
        resolve: (response) => {
          settle();
          resolve(response);
        },
        reject: (error) => {
          settle();
          reject(error);
        },
        heardAt: clock.now(),
        heard: false,
        aborting: undefined,
      };
      const onAbort = (): void => {
        courier.port.postMessage({ kind: 'abort', jobId });
        // Over once the page says its request ended (its failure report, an answer that crossed the
        // abort, its job lock coming free), so that none of its bytes go on beside what follows (a
        // DELETE, a new run). A page that does not say so within graceMs is not waited for longer.
        const ended = (): void => job.reject(abortError(options.signal));
        job.aborting = ended;
        clock.clearTimeout(timer);
        timer = clock.setTimeout(ended, this.#options.graceMs ?? 1_000);
      };
      if (options.signal.aborted) return reject(abortError(options.signal)); // nothing was handed over
      options.signal.addEventListener('abort', onAbort, { once: true });
      courier.jobs.set(jobId, job);
      // Where Web Locks are missing, silence is the only sign the page went away.
      const silence = this.#options.silenceMs ?? 5_000;
      const watch = (ms: number): void => {
        timer = clock.setTimeout(() => {
          if (!courier.jobs.has(jobId)) return;
          const quiet = clock.now() - job.heardAt;
          if (quiet >= silence) this.#gone(courier);
          else watch(silence - quiet);
        }, ms);
      };
      if (this.#options.locks === undefined) watch(silence);
      else {
        // With locks, the page's job lock tells when it goes away, but only once the page took the
        // job: a page that never does (a main thread stuck, an alert open, a frozen tab still
        // holding its life lock) would leave the request to its deadline by size, an hour for a
        // big body. The job comes back (the loop re-syncs), and the page gets no other until it
        // says something again: meanwhile bodies go through the worker's fetch.
        timer = clock.setTimeout(() => {
          if (job.heard || !courier.jobs.has(jobId)) return;
          courier.stalled = true;
          courier.port.postMessage({ kind: 'abort', jobId });
          job.reject(new CourierGone());
        }, silence);
      }
      courier.port.postMessage({ kind: 'job', jobId, jobLock, request });
    });
  }

  #onReport(courier: Courier, report: CourierReport): void {
    courier.stalled = false; // it talks again: it may take jobs
    if (report.kind === 'alive') {
      for (const job of courier.jobs.values()) job.heardAt = this.#options.clock.now();
      return;
    }
    const job = courier.jobs.get(report.jobId);
    if (job === undefined) return;
    job.heardAt = this.#options.clock.now();
    job.heard = true;
    if (job.aborting !== undefined && (report.kind === 'failed' || report.kind === 'answer')) return job.aborting();
    switch (report.kind) {
      case 'accepted':
        // The page holds the job's lock: this wait ends when the job is over or the page is gone.
        if (report.locked && this.#options.locks !== undefined) {
          void this.#options.locks.request(`resilient-upload:job:${report.jobId}`, {}, () => this.#afterRelease(job));
        }
        return;
      case 'progress':
        job.onSent?.(report.sent);
        return;
      case 'answer': {
        const headers = report.headers;
        job.resolve({ status: report.status, statusText: report.statusText, header: (name) => headers[name.toLowerCase()] ?? null, text: report.text });
        return;
      }
      case 'failed':
        job.reject(Object.assign(new Error(report.error.message), { name: report.error.name }));
    }
  }

  /** The job's lock came free: its answer is on its way, or the page died. Give the answer a moment. */
  #afterRelease(job: Job): Promise<void> {
    return new Promise<void>((resolve) => {
      this.#options.clock.setTimeout(() => {
        job.reject(new CourierGone()); // no effect when the answer came first
        resolve();
      }, this.#options.graceMs ?? 1_000);
    });
  }

  #gone(courier: Courier): void {
    courier.alive = false;
    const index = this.#couriers.indexOf(courier);
    if (index >= 0) this.#couriers.splice(index, 1);
    for (const [jobId, job] of [...courier.jobs]) {
      // A page that was only slow (no locks, silence) must stop sending too: the upload resumes elsewhere.
      courier.port.postMessage({ kind: 'abort', jobId });
      job.reject(new CourierGone());
    }
    courier.port.close();
  }
}

/** Bodies go through an open page when there is one; everything else through `fallback` (the worker's fetch). */
export class CourierHttpClient implements HttpClient {
  readonly #pool: CourierPool;
  readonly #fallback: HttpClient;
  readonly #credentials: CourierRequest['credentials'];

  constructor(pool: CourierPool, fallback: HttpClient, credentials: RequestCredentials = 'same-origin') {
    this.#pool = pool;
    this.#fallback = fallback;
    this.#credentials = credentials;
  }

  send(request: HttpRequest, options: SendOptions): Promise<HttpResponse> {
    if (request.body === undefined || !this.#pool.available) return this.#fallback.send(request, options);
    return this.#pool.send({ method: request.method, url: request.url, headers: request.headers, body: request.body, credentials: this.#credentials }, options);
  }
}

function abortError(signal: AbortSignal): Error {
  const reason: unknown = signal.reason;
  return reason instanceof Error ? reason : Object.assign(new Error('The request was aborted'), { name: 'AbortError' });
}
