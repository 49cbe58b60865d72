// A raw client of the IETF draft (interop version 8) over node:http, which shows 1xx answers:
// what a native client (URLSession, pyrufh) does, step by step, for the server tests.
import { request } from 'node:http';

export const DRAFT = { 'Upload-Draft-Interop-Version': '8' };

export interface DraftReply {
  readonly status: number;
  readonly headers: Record<string, string>;
  readonly body: string;
  /** The 104 answers seen before the final one, with their headers. */
  readonly informational: Array<{ status: number; headers: Record<string, string> }>;
}

export interface DraftRequest {
  readonly method: string;
  readonly url: string;
  readonly headers?: Record<string, string>;
  readonly body?: Uint8Array;
  /** Sends only this many bytes of `body` (promising all of it), then cuts the connection once a 104 arrived. */
  readonly cutAfter?: number;
}

/** One request; a cut request resolves with status 0 and whatever 104s came before the cut. */
export function draftRequest(r: DraftRequest): Promise<DraftReply> {
  return new Promise((resolve, reject) => {
    const url = new URL(r.url);
    const informational: DraftReply['informational'] = [];
    const req = request({ method: r.method, hostname: url.hostname, port: url.port, path: url.pathname, headers: { ...DRAFT, ...r.headers, ...(r.body ? { 'Content-Length': String(r.body.length) } : {}) } });
    req.on('information', (info) => {
      informational.push({ status: info.statusCode, headers: lower(info.headers as Record<string, string>) });
      if (r.cutAfter !== undefined) {
        // The 104 came: the upload exists. Let the sent bytes land, then drop the connection.
        setTimeout(() => {
          req.destroy();
          resolve({ status: 0, headers: {}, body: '', informational });
        }, 100);
      }
    });
    req.on('response', (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => (body += d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: lower(res.headers as Record<string, string>), body, informational }));
    });
    req.on('error', (e) => (r.cutAfter !== undefined ? resolve({ status: 0, headers: {}, body: '', informational }) : reject(e)));
    if (r.body === undefined) req.end();
    else if (r.cutAfter === undefined) req.end(r.body);
    else req.write(r.body.subarray(0, r.cutAfter));
  });
}

function lower(headers: Record<string, string | string[] | undefined>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(headers)) if (v !== undefined) out[k.toLowerCase()] = Array.isArray(v) ? v.join(', ') : v;
  return out;
}
