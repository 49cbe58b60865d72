// The page's side of page-assisted uploads: it carries upload bodies for the worker with
// XMLHttpRequest, which runs at full speed and reports upload progress (fetch does neither, and a
// service worker has no XMLHttpRequest). The page only moves bytes: every decision stays in the worker.
import type { CourierCommand, CourierOffer, CourierReport, CourierRequest } from './protocol/messages.js';

/** The part of `navigator.locks` a courier uses. */
export interface LocksLike {
  request(name: string, options: { ifAvailable?: boolean; signal?: AbortSignal }, callback: (lock: unknown) => Promise<unknown> | unknown): Promise<unknown>;
}

export interface CourierDeps {
  /** Where offers go: the active service worker. */
  readonly post: (offer: CourierOffer, transfer: Transferable[]) => void;
  /** `navigator.locks` where it exists. */
  readonly locks: LocksLike | undefined;
  readonly newId: () => string;
  /** XMLHttpRequest and the time, injectable for tests. */
  readonly xhr?: () => XMLHttpRequest;
  readonly now?: () => number;
  /** Calls `fn` every `ms` until the returned stop is called (default setInterval). */
  readonly every?: (ms: number, fn: () => void) => () => void;
}

/** Progress reports at most this often per job (the worker throttles its events further). */
const PROGRESS_EVERY_MS = 100;
/** Heartbeat while a job runs: what tells the worker the page lives where Web Locks are missing. */
const ALIVE_EVERY_MS = 1_000;

export class Courier {
  readonly #deps: CourierDeps;
  readonly #jobs = new Map<string, XMLHttpRequest>();
  #port: MessagePort | undefined;
  #releaseLife: (() => void) | undefined;
  #stopAlive: (() => void) | undefined;
  /** True while this page aborts its own jobs (close, a new offer): they fail as CourierGone. */
  #leaving = false;

  constructor(deps: CourierDeps) {
    this.#deps = deps;
  }

  /**
   * Offers this page to the current worker instance (again after the worker restarted: the old
   * port died with it). The page holds a Web Lock for as long as it lives, which the worker waits
   * on to learn when the page goes away.
   */
  async offer(): Promise<void> {
    this.#closePort();
    const courierId = this.#deps.newId();
    const lifeLock = this.#deps.locks === undefined ? undefined : `resilient-upload:courier:${courierId}`;
    if (lifeLock !== undefined) await this.#holdLifeLock(lifeLock);
    const channel = new MessageChannel();
    channel.port1.onmessage = (event: MessageEvent<CourierCommand>) => this.#onCommand(event.data);
    this.#port = channel.port1;
    this.#deps.post({ kind: 'resilient-upload:courier', courierId, ...(lifeLock === undefined ? {} : { lifeLock }) }, [channel.port2]);
  }

  /** Stops carrying: requests in flight are aborted (the worker resumes from the server's status). */
  close(): void {
    this.#closePort();
    this.#releaseLife?.();
    this.#releaseLife = undefined;
  }

  #closePort(): void {
    // This page stops carrying (not the worker's abort): said so, the worker re-syncs instead of
    // reporting a network error.
    this.#leaving = true;
    for (const xhr of this.#jobs.values()) xhr.abort();
    this.#leaving = false;
    this.#jobs.clear();
    this.#stopAlive?.();
    this.#stopAlive = undefined;
    this.#port?.close();
    this.#port = undefined;
  }

  /** Resolves once the lock is held; it is released by close() or when the page goes away. */
  #holdLifeLock(name: string): Promise<void> {
    this.#releaseLife?.();
    return new Promise<void>((held) => {
      void this.#deps.locks!.request(name, {}, () => {
        held();
        return new Promise<void>((release) => {
          this.#releaseLife = release;
        });
      });
    });
  }

  #every(ms: number, fn: () => void): () => void {
    if (this.#deps.every !== undefined) return this.#deps.every(ms, fn);
    const timer = setInterval(fn, ms);
    return () => clearInterval(timer);
  }

  #report(report: CourierReport): void {
    this.#port?.postMessage(report);
  }

  #onCommand(command: CourierCommand): void {
    if (command.kind === 'abort') {
      this.#jobs.get(command.jobId)?.abort();
      return;
    }
    void this.#carry(command.jobId, command.jobLock, command.request);
  }

  async #carry(jobId: string, jobLock: string, request: CourierRequest): Promise<void> {
    const locks = this.#deps.locks;
    if (locks === undefined) {
      this.#report({ kind: 'accepted', jobId, locked: false });
      await this.#send(jobId, request);
      return;
    }
    // Held for the whole job: when the page dies mid-send, the worker's wait on it ends at once.
    // The request starts before the lock is granted (granting takes 10-40 ms on a busy machine):
    // should the page die in between, the worker learns it from the courier's life lock.
    const sending = this.#send(jobId, request);
    await locks.request(jobLock, {}, async () => {
      this.#report({ kind: 'accepted', jobId, locked: true });
      await sending;
    });
  }

  #send(jobId: string, request: CourierRequest): Promise<void> {
    return new Promise<void>((done) => {
      const xhr = this.#deps.xhr?.() ?? new XMLHttpRequest();
      this.#jobs.set(jobId, xhr);
      this.#stopAlive ??= this.#every(ALIVE_EVERY_MS, () => this.#report({ kind: 'alive' }));
      let lastProgress = 0;
      const finish = (report: CourierReport): void => {
        this.#jobs.delete(jobId);
        if (this.#jobs.size === 0) {
          this.#stopAlive?.();
          this.#stopAlive = undefined;
        }
        this.#report(report);
        done();
      };
      xhr.upload.onprogress = (event) => {
        const now = this.#deps.now?.() ?? Date.now();
        if (now - lastProgress < PROGRESS_EVERY_MS && event.loaded < request.body.size) return;
        lastProgress = now;
        this.#report({ kind: 'progress', jobId, sent: event.loaded });
      };
      xhr.onload = () => finish({ kind: 'answer', jobId, status: xhr.status, statusText: xhr.statusText, headers: parseHeaders(xhr.getAllResponseHeaders()), text: xhr.responseText });
      xhr.onerror = () => finish({ kind: 'failed', jobId, error: { name: 'NetworkError', message: 'XMLHttpRequest failed: the server could not be reached' } });
      xhr.ontimeout = xhr.onerror;
      xhr.onabort = () =>
        finish({
          kind: 'failed',
          jobId,
          error: this.#leaving ? { name: 'CourierGone', message: 'The page stopped carrying this request' } : { name: 'AbortError', message: 'The request was aborted' },
        });
      try {
        xhr.open(request.method, request.url);
        xhr.withCredentials = request.credentials === 'include';
        for (const [name, value] of Object.entries(request.headers)) xhr.setRequestHeader(name, value);
        xhr.send(request.body);
      } catch (error) {
        // Refused before anything went out (a header XHR will not send, say): the worker gets the reason.
        const { name, message } = error instanceof Error ? error : new Error(String(error));
        finish({ kind: 'failed', jobId, error: { name, message: `The page could not send the request: ${message}` } });
      }
    });
  }
}

function parseHeaders(raw: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const line of raw.trim().split(/[\r\n]+/)) {
    const colon = line.indexOf(':');
    if (colon > 0) out[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
  }
  return out;
}
