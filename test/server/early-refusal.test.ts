// Early refusals must reach the client: a request refused before its body was read (413, 409, 401,
// 403) gets its answer, and the server reads and discards the refused body before closing, so the
// client never sees a connection reset instead (a worker would retry a reset forever). The server
// runs in its own process, as in production: client and server do not share an event loop.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { request } from 'node:http';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Listening } from '../../lab/processes.js';
import { startServerProcess } from '../helpers/server-process.js';

const MiB = 1024 * 1024;
const BODY = Buffer.alloc(32 * MiB, 0x5a);
const ROUNDS = 30;

let dir: string;
let srv: Listening;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'ru-early-'));
  srv = await startServerProcess({ options: { uploadDir: join(dir, 'uploads'), maxUploadSize: MiB }, authorize: 'header' });
});
afterAll(async () => {
  await srv?.kill('SIGKILL');
  await rm(dir, { recursive: true, force: true });
});

/** What fetch (undici) sees: the status, or the network error's code. */
async function viaFetch(headers: Record<string, string>): Promise<number | string> {
  try {
    const res = await fetch(`${srv.url}/upload`, { method: 'POST', headers, body: BODY });
    await res.arrayBuffer();
    return res.status;
  } catch (err) {
    const cause = (err as { cause?: { code?: string } }).cause;
    return cause?.code ?? String(err);
  }
}

/** What node:http sees: the status once a response arrived, else the socket error's code. */
function viaNodeHttp(headers: Record<string, string>): Promise<number | string> {
  return new Promise((resolve) => {
    const req = request(`${srv.url}/upload`, { method: 'POST', headers: { ...headers, 'content-length': String(BODY.length) } }, (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    // Once the answer is in, a later error of the body upload does not matter to the client.
    req.on('error', (err: NodeJS.ErrnoException) => resolve(err.code ?? err.message));
    req.end(BODY);
  });
}

const cases: Array<[string, Record<string, string>, number, number]> = [
  ['413, body past MAX_UPLOAD_SIZE', { Authorization: 'alice', 'X-File-Id': 'big', 'X-Start-Byte': '0' }, 413, ROUNDS],
  ['409, start past the bytes held', { Authorization: 'alice', 'X-File-Id': 'unknown', 'X-Start-Byte': '5' }, 409, 10],
  ['401, no credentials', { 'X-File-Id': 'anon', 'X-Start-Byte': '0' }, 401, 10],
  ['403, refused by authorize', { Authorization: 'banned', 'X-File-Id': 'ban', 'X-Start-Byte': '0' }, 403, 10],
];

describe.each(cases)('%s, 32 MiB body', (_name, headers, expected, rounds) => {
  it(`fetch sees ${expected} in every one of ${rounds} rounds`, async () => {
    const seen: Array<number | string> = [];
    for (let i = 0; i < rounds; i++) seen.push(await viaFetch(headers));
    expect(seen).toEqual(Array(rounds).fill(expected));
  });

  it(`node:http sees ${expected} in every one of ${rounds} rounds`, async () => {
    const seen: Array<number | string> = [];
    for (let i = 0; i < rounds; i++) seen.push(await viaNodeHttp(headers));
    expect(seen).toEqual(Array(rounds).fill(expected));
  });
});
