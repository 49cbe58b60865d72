// Page-assisted uploads, both sides in one process: the page's Courier (src/courier.ts) and the
// worker's CourierPool over a real MessageChannel, with a scripted XMLHttpRequest, in-memory Web
// Locks and a fake clock. The real browsers' XHR and locks are in the browser tests.
import { describe, expect, it } from 'vitest';
import { Courier, type LocksLike } from '../../src/courier.js';
import { CourierGone, CourierHttpClient, CourierPool } from '../../sw/couriers.js';
import type { HttpClient, HttpRequest } from '../../sw/transport/http-client.js';
import { StatusSliceTransport } from '../../sw/transport/status-slice.js';
import { FakeClock, settle } from './kit/fake-clock.js';

/** Exclusive Web Locks in memory; `crash(owner)` drops an owner's locks as a dying page would. */
class FakeLocks {
  readonly #held = new Map<string, { owner: string; release: () => void }>();
  readonly #queue = new Map<string, Array<() => void>>();

  for(owner: string): LocksLike {
    return {
      request: (name, _options, callback) =>
        new Promise((resolve) => {
          const run = (): void => {
            let release!: () => void;
            const released = new Promise<void>((r) => (release = r));
            this.#held.set(name, { owner, release });
            void Promise.resolve(callback({ name }))
              .then(resolve, resolve)
              .finally(() => release());
            void released.then(() => {
              if (this.#held.get(name)?.release !== release) return;
              this.#held.delete(name);
              this.#queue.get(name)?.shift()?.();
            });
          };
          if (this.#held.has(name)) this.#queue.set(name, [...(this.#queue.get(name) ?? []), run]);
          else run();
        }),
    };
  }

  crash(owner: string): void {
    for (const [, lock] of [...this.#held]) if (lock.owner === owner) lock.release();
  }
}

/** A scripted XMLHttpRequest: the test drives its progress and answer. */
class FakeXhr {
  static last: FakeXhr | undefined;
  method = '';
  url = '';
  headers: Record<string, string> = {};
  body: Blob | undefined;
  withCredentials = false;
  aborted = false;
  status = 0;
  statusText = '';
  responseText = '';
  readonly upload: { onprogress: ((e: { loaded: number }) => void) | null } = { onprogress: null };
  onload: (() => void) | null = null;
  onerror: (() => void) | null = null;
  ontimeout: (() => void) | null = null;
  onabort: (() => void) | null = null;
  #responseHeaders = '';
  constructor() {
    FakeXhr.last = this;
  }
  open(method: string, url: string): void {
    this.method = method;
    this.url = url;
  }
  setRequestHeader(name: string, value: string): void {
    this.headers[name] = value;
  }
  send(body: Blob): void {
    this.body = body;
  }
  abort(): void {
    this.aborted = true;
    this.onabort?.();
  }
  getAllResponseHeaders(): string {
    return this.#responseHeaders;
  }
  progress(loaded: number): void {
    this.upload.onprogress?.({ loaded });
  }
  answer(status: number, text: string, headers: Record<string, string>): void {
    this.status = status;
    this.responseText = text;
    this.#responseHeaders = Object.entries(headers).map(([k, v]) => `${k}: ${v}`).join('\r\n');
    this.onload?.();
  }
}

function setup(options: { locks?: boolean } = {}) {
  const clock = new FakeClock();
  const locks = new FakeLocks();
  let ids = 0;
  let frozen = false;
  const pool = new CourierPool({ clock, locks: options.locks === false ? undefined : locks.for('worker'), newId: () => `job${++ids}`, silenceMs: 5_000, graceMs: 1_000 });
  const page = new Courier({
    post: (offer, transfer) => pool.add(offer, transfer[0] as MessagePort),
    locks: options.locks === false ? undefined : locks.for('page'),
    newId: () => `page${++ids}`,
    xhr: () => new FakeXhr() as unknown as XMLHttpRequest,
    now: () => clock.now(),
    every: (ms, fn) => {
      let stopped = false;
      const tick = (): void => {
        clock.setTimeout(() => {
          if (stopped || frozen) return;
          fn();
          tick();
        }, ms);
      };
      tick();
      return () => (stopped = true);
    },
  });
  const fallbackCalls: HttpRequest[] = [];
  const fallback: HttpClient = {
    send: async (request) => {
      fallbackCalls.push(request);
      return { status: 200, statusText: 'OK', header: (n) => (n.toLowerCase() === 'x-upload-offset' ? '0' : null), text: '0' };
    },
  };
  const client = new CourierHttpClient(pool, fallback, 'include');
  return { clock, locks, pool, page, client, fallbackCalls, freeze: () => (frozen = true) };
}

const body = new Blob([new Uint8Array(1000)]);
const req = (): HttpRequest => ({ method: 'POST', url: 'http://127.0.0.1:9/upload', headers: { 'X-Start-Byte': '0' }, body });

describe('page-assisted uploads: courier and pool', () => {
  it('a body goes through the page with XHR: headers and credentials kept, progress reported, the answer handed back', async () => {
    const { page, pool, client } = setup();
    await page.offer();
    await settle();
    expect(pool.available).toBe(true);
    const sent: number[] = [];
    const answer = client.send(req(), { signal: new AbortController().signal, onSent: (n) => sent.push(n) });
    await settle();
    const xhr = FakeXhr.last!;
    expect([xhr.method, xhr.url, xhr.headers['X-Start-Byte'], xhr.withCredentials, xhr.body?.size]).toEqual(['POST', 'http://127.0.0.1:9/upload', '0', true, 1000]);
    xhr.progress(400);
    xhr.progress(1000);
    await settle();
    xhr.answer(200, '1000', { 'X-Upload-Offset': '1000', 'X-Upload-Complete': '?1' });
    const response = await answer;
    expect([response.status, response.header('x-upload-offset'), response.header('X-Upload-Complete'), response.text]).toEqual([200, '1000', '?1', '1000']);
    expect(sent).toEqual([400, 1000]);
  });

  it('requests without a body (status, DELETE), or with no page open, go through the worker fetch', async () => {
    const { page, client, fallbackCalls } = setup();
    await client.send(req(), { signal: new AbortController().signal });
    await page.offer();
    await settle();
    await client.send({ method: 'GET', url: 'http://127.0.0.1:9/status', headers: {} }, { signal: new AbortController().signal });
    expect(fallbackCalls.map((r) => r.method)).toEqual(['POST', 'GET']);
  });

  it('the page dies mid-send: its locks come free, the request ends with CourierGone and the next goes through the worker', async () => {
    const { page, pool, client, locks, clock, fallbackCalls } = setup();
    await page.offer();
    await settle();
    const answer = client.send(req(), { signal: new AbortController().signal });
    const outcome = answer.then(
      () => 'answered',
      (e: Error) => e.name,
    );
    await settle();
    locks.crash('page'); // closed, navigated, crashed: the browser drops its locks
    await clock.advance(1_000);
    expect(await outcome).toBe('CourierGone');
    expect(pool.available).toBe(false);
    await client.send(req(), { signal: new AbortController().signal });
    expect(fallbackCalls).toHaveLength(1);
  });

  it('a page that answers then lets its job lock go is not taken for gone', async () => {
    const { page, client, clock } = setup();
    await page.offer();
    await settle();
    const answer = client.send(req(), { signal: new AbortController().signal });
    await settle();
    FakeXhr.last!.answer(200, '1000', { 'X-Upload-Offset': '1000' });
    await clock.advance(2_000);
    expect((await answer).status).toBe(200);
  });

  it('pause or cancel aborts the page’s request at once, and ends once the page says it stopped', async () => {
    const { page, client } = setup();
    await page.offer();
    await settle();
    const controller = new AbortController();
    let stoppedFirst: boolean | undefined;
    const answer = client.send(req(), { signal: controller.signal }).catch((e: Error) => {
      stoppedFirst = FakeXhr.last!.aborted;
      return e.name;
    });
    await settle();
    controller.abort();
    expect(await answer).toBe('AbortError');
    expect(stoppedFirst).toBe(true); // the page's XHR was aborted before the worker went on
  });

  it('a page that does not say its aborted request stopped is waited for graceMs (1 s), no longer', async () => {
    const { client, clock, locks, pool } = setup();
    const channel = new MessageChannel();
    channel.port1.onmessage = (event: MessageEvent<{ kind: string; jobId: string }>) => {
      // It takes the job (so it is not a stalled page), then never answers the abort.
      if (event.data.kind === 'job') channel.port1.postMessage({ kind: 'accepted', jobId: event.data.jobId, locked: false });
    };
    void locks.for('deaf page').request('life-deaf', {}, () => new Promise(() => undefined));
    pool.add({ kind: 'resilient-upload:courier', courierId: 'deaf', lifeLock: 'life-deaf' }, channel.port2);
    await settle();
    const controller = new AbortController();
    let ended = false;
    const answer = client.send(req(), { signal: controller.signal }).catch((e: Error) => ((ended = true), e.name));
    await settle();
    controller.abort();
    await clock.advance(900);
    expect(ended).toBe(false);
    await clock.advance(100);
    expect(await answer).toBe('AbortError');
    channel.port1.close();
  });

  it('a page that never takes its job (stuck, yet holding its life lock): after 5 s the job is aborted and comes back as CourierGone; no job goes to it until it talks again', async () => {
    const { pool, client, clock, locks } = setup();
    const channel = new MessageChannel();
    const seen: string[] = [];
    channel.port1.onmessage = (event: MessageEvent<{ kind: string }>) => seen.push(event.data.kind);
    void locks.for('stuck page').request('life-stuck', {}, () => new Promise(() => undefined));
    pool.add({ kind: 'resilient-upload:courier', courierId: 'stuck', lifeLock: 'life-stuck' }, channel.port2);
    await settle();
    const answer = client.send(req(), { signal: new AbortController().signal }).catch((e: Error) => e.name);
    await clock.advance(4_900);
    expect(seen).toEqual(['job']);
    await clock.advance(100);
    expect(await answer).toBe('CourierGone');
    await settle();
    expect(seen).toEqual(['job', 'abort']);
    expect(pool.available).toBe(false); // no other job for it: bodies go through the worker's fetch
    channel.port1.postMessage({ kind: 'alive' }); // it talks again
    await settle();
    expect(pool.available).toBe(true);
    channel.port1.close();
  });

  it('without Web Locks, a page silent for 5 s is gone; one that keeps talking is not', async () => {
    const { page, pool, client, clock, freeze } = setup({ locks: false });
    await page.offer();
    await settle();
    const answer = client.send(req(), { signal: new AbortController().signal }).catch((e: Error) => e.name);
    await settle();
    // Progress and the page's heartbeat keep it alive well past the 5 s of silence allowed.
    for (let i = 0; i < 8; i++) {
      FakeXhr.last!.progress(100 * (i + 1));
      await clock.advance(1_000);
    }
    expect(pool.available).toBe(true);
    // The page freezes: a hung renderer sends nothing, and here it has no locks to drop.
    freeze();
    await clock.advance(6_000);
    expect(await answer).toBe('CourierGone');
    expect(pool.available).toBe(false);
    await settle();
    expect(FakeXhr.last!.aborted).toBe(true); // told to stop, should it wake

  });

  it('a request lost with its page makes the transport re-sync (a status) rather than back off', async () => {
    const transport = new StatusSliceTransport({ send: () => Promise.reject(new CourierGone()) });
    const upload = { id: 'u', fileId: 'f', endpoint: 'http://127.0.0.1:9', name: 'a', type: '', size: 5 };
    expect(await transport.append(upload, { start: 0, body: new Blob(['hello']) }, { signal: new AbortController().signal, headers: {} })).toEqual({
      kind: 'conflict',
      offset: undefined,
      complete: false,
    });
  });
});
