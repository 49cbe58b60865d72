// The page's courier on a scripted XMLHttpRequest and a fake clock: what it reports to the worker
// (progress at most every 100 ms, always the last byte, the answer or the failure) and what the
// worker's commands do to the request.
import { afterEach, describe, expect, it } from 'vitest';
import { Courier } from '../../src/courier.js';
import type { CourierCommand, CourierOffer, CourierReport } from '../../src/protocol/messages.js';

/** The parts of an XMLHttpRequest the courier touches, driven by the test. */
class ScriptedXhr {
  readonly upload: { onprogress: ((event: { loaded: number }) => void) | null } = { onprogress: null };
  onload: (() => void) | null = null;
  onerror: (() => void) | null = null;
  ontimeout: (() => void) | null = null;
  onabort: (() => void) | null = null;
  withCredentials = false;
  status = 0;
  statusText = '';
  responseText = '';
  opened: [string, string] | undefined;
  readonly headers: Record<string, string> = {};
  sentBody: Blob | undefined;
  aborted = 0;

  open(method: string, url: string): void {
    this.opened = [method, url];
  }
  setRequestHeader(name: string, value: string): void {
    // As browsers do: a header value is a ByteString.
    if (/[^\u0000-\u00ff]/.test(value)) throw new TypeError(`Failed to execute 'setRequestHeader': '${value}' is not a valid HTTP header field value.`);
    this.headers[name] = value;
  }
  send(body: Blob): void {
    this.sentBody = body;
  }
  abort(): void {
    this.aborted += 1;
    this.onabort?.();
  }
  getAllResponseHeaders(): string {
    return 'Content-Type: text/plain\r\nX-Offset: 10\r\n';
  }
}

interface Rig {
  readonly courier: Courier;
  readonly xhrs: ScriptedXhr[];
  readonly reports: CourierReport[];
  readonly worker: MessagePort;
  time: number;
  until(predicate: () => boolean): Promise<void>;
}

const open: MessagePort[] = [];
afterEach(() => {
  for (const port of open.splice(0)) port.close();
});

function rig(): Rig {
  const xhrs: ScriptedXhr[] = [];
  const reports: CourierReport[] = [];
  let worker: MessagePort | undefined;
  const state = {
    time: 1_000,
    xhrs,
    reports,
    get worker(): MessagePort {
      return worker!;
    },
    courier: undefined as unknown as Courier,
    async until(predicate: () => boolean): Promise<void> {
      // Message ports deliver on the event loop: yield to it until the expected report arrived.
      for (let i = 0; i < 1_000 && !predicate(); i++) await new Promise((r) => setImmediate(r));
      expect(predicate()).toBe(true);
    },
  };
  state.courier = new Courier({
    post: (_offer: CourierOffer, transfer) => {
      worker = transfer[0] as MessagePort;
      worker.onmessage = (event: MessageEvent<CourierReport>) => reports.push(event.data);
      open.push(worker);
    },
    locks: undefined,
    newId: () => 'c1',
    xhr: () => {
      const xhr = new ScriptedXhr();
      xhrs.push(xhr);
      return xhr as unknown as XMLHttpRequest;
    },
    now: () => state.time,
    every: () => () => undefined,
  });
  return state;
}

const body = new Blob([new Uint8Array(1_000)]);
const job: CourierCommand = {
  kind: 'job',
  jobId: 'j1',
  jobLock: 'lock-j1',
  request: { method: 'POST', url: 'http://127.0.0.1/upload', headers: { 'X-Start-Byte': '0' }, body, credentials: 'include' },
};

async function started(r: Rig): Promise<ScriptedXhr> {
  await r.courier.offer();
  r.worker.postMessage(job);
  await r.until(() => r.xhrs[0]?.sentBody !== undefined);
  return r.xhrs[0]!;
}

describe('the page courier', () => {
  it('sends the worker’s request as given: method, URL, headers, credentials, body', async () => {
    const r = rig();
    const xhr = await started(r);
    expect(xhr.opened).toEqual(['POST', 'http://127.0.0.1/upload']);
    expect(xhr.headers).toEqual({ 'X-Start-Byte': '0' });
    expect(xhr.withCredentials).toBe(true);
    expect(xhr.sentBody?.size).toBe(body.size); // a copy: the job crossed a MessagePort
    await r.until(() => r.reports.length > 0);
    expect(r.reports[0]).toEqual({ kind: 'accepted', jobId: 'j1', locked: false });
  });

  it('reports progress at most every 100 ms, and always the last byte', async () => {
    const r = rig();
    const xhr = await started(r);
    const progress = xhr.upload.onprogress!;
    progress({ loaded: 100 }); // first: reported
    r.time += 50;
    progress({ loaded: 200 }); // 50 ms later: held back
    r.time += 50;
    progress({ loaded: 300 }); // 100 ms after the last report: reported
    r.time += 10;
    progress({ loaded: 1_000 }); // the whole body: reported however soon
    await r.until(() => r.reports.filter((x) => x.kind === 'progress').length === 3);
    expect(r.reports.filter((x) => x.kind === 'progress').map((x) => (x as { sent: number }).sent)).toEqual([100, 300, 1_000]);
  });

  it('passes the answer on with its status, headers (lower-cased) and text', async () => {
    const r = rig();
    const xhr = await started(r);
    Object.assign(xhr, { status: 200, statusText: 'OK', responseText: '1000' });
    xhr.onload!();
    await r.until(() => r.reports.some((x) => x.kind === 'answer'));
    expect(r.reports.find((x) => x.kind === 'answer')).toEqual({
      kind: 'answer',
      jobId: 'j1',
      status: 200,
      statusText: 'OK',
      headers: { 'content-type': 'text/plain', 'x-offset': '10' },
      text: '1000',
    });
  });

  it('reports a network failure as failed with the platform’s error name', async () => {
    const r = rig();
    const xhr = await started(r);
    xhr.onerror!();
    await r.until(() => r.reports.some((x) => x.kind === 'failed'));
    expect(r.reports.find((x) => x.kind === 'failed')).toMatchObject({ jobId: 'j1', error: { name: 'NetworkError' } });
  });

  it('a request the XHR refuses to set up: reported failed with the platform’s reason, the job let go', async () => {
    const r = rig();
    await r.courier.offer();
    r.worker.postMessage({ ...job, request: { ...job.request, headers: { 'X-Price': '5 €' } } } satisfies CourierCommand);
    await r.until(() => r.reports.some((x) => x.kind === 'failed'));
    expect(r.reports.find((x) => x.kind === 'failed')).toEqual({
      kind: 'failed',
      jobId: 'j1',
      error: { name: 'TypeError', message: "The page could not send the request: Failed to execute 'setRequestHeader': '5 €' is not a valid HTTP header field value." },
    });
    expect(r.xhrs[0]!.sentBody).toBeUndefined();
  });

  it('a page that stops carrying (close) says so: its aborted jobs fail as CourierGone, not as a network error', async () => {
    const r = rig();
    await started(r);
    const reports = r.reports;
    r.courier.close();
    await r.until(() => reports.some((x) => x.kind === 'failed'));
    expect(reports.find((x) => x.kind === 'failed')).toMatchObject({ jobId: 'j1', error: { name: 'CourierGone' } });
  });

  it('aborts the request when the worker says so, and when the page closes', async () => {
    const r = rig();
    const xhr = await started(r);
    r.worker.postMessage({ kind: 'abort', jobId: 'j1' } satisfies CourierCommand);
    await r.until(() => xhr.aborted === 1);
    await r.until(() => r.reports.some((x) => x.kind === 'failed'));
    expect(r.reports.find((x) => x.kind === 'failed')).toMatchObject({ error: { name: 'AbortError' } });

    const again = rig();
    const second = await started(again);
    again.courier.close();
    expect(second.aborted).toBe(1);
  });
});
