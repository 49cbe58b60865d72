// Errors as documented: ids are counted and decoded as the UTF-8 bytes sent, bytes sent to a
// completed upload get ALREADY_COMPLETE, and even the HTTP parser's own refusals carry a stable
// X-Error-Code and a reason.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { storageKey } from '../../server/index.js';
import { startTestServer, type TestServer } from '../helpers/server.js';
import { headWithRawId, parseRaw, post, randomData, rawRequest, status } from './client.js';

let srv: TestServer;
beforeAll(async () => {
  srv = await startTestServer();
});
afterAll(async () => {
  await srv.close();
});

describe('UTF-8 ids', () => {
  const id = 'é'.repeat(512); // exactly 1024 bytes of UTF-8
  const utf8 = Buffer.from(id, 'utf8');

  it('accepts an id of exactly 1024 UTF-8 bytes and stores it as sent', async () => {
    expect(utf8.length).toBe(1024);
    const s = parseRaw(await rawRequest(srv.url, headWithRawId('GET', '/status', utf8)));
    expect(s).toMatchObject({ status: 200, body: '0' });
    const p = parseRaw(await rawRequest(srv.url, Buffer.concat([headWithRawId('POST', '/upload', utf8, 'X-Start-Byte: 0\r\nContent-Length: 5\r\n'), Buffer.from('hello')])));
    expect(p).toMatchObject({ status: 200, body: '5' });
    expect(p.headers['x-upload-complete']).toBe('?1');
    const meta = JSON.parse(await readFile(join(srv.uploadDir, 'complete', `${storageKey({ namespace: '', id })}.json`), 'utf8')) as { id: string };
    expect(meta.id).toBe(id);
  });

  it('refuses 1025 UTF-8 bytes with BAD_FILE_ID', async () => {
    const long = parseRaw(await rawRequest(srv.url, headWithRawId('GET', '/status', Buffer.from('é'.repeat(512) + 'x', 'utf8'))));
    expect(long).toMatchObject({ status: 400, headers: { 'x-error-code': 'BAD_FILE_ID' } });
  });

  it('reads bytes that are not UTF-8 as latin1, as a browser sends "café.jpg": the same upload as its UTF-8 spelling', async () => {
    const latin1 = Buffer.from('café.jpg-4-1', 'latin1');
    const p = parseRaw(await rawRequest(srv.url, Buffer.concat([headWithRawId('POST', '/upload', latin1, 'X-Start-Byte: 0\r\nX-File-Size: 4\r\nContent-Length: 2\r\n'), Buffer.from('ab')])));
    expect(p).toMatchObject({ status: 200, body: '2' });
    const s = parseRaw(await rawRequest(srv.url, headWithRawId('GET', '/status', Buffer.from('café.jpg-4-1', 'utf8'))));
    expect(s).toMatchObject({ status: 200, body: '2' });
  });
});

describe('a completed upload', () => {
  it('answers bytes sent to it with 409 ALREADY_COMPLETE and its size, whatever the start', async () => {
    const data = randomData(1000);
    await post(srv.url, 'done', 0, data, { 'X-File-Size': '1000' });
    for (const start of [0, 500, 1000]) {
      expect(await post(srv.url, 'done', start, data.subarray(0, 10))).toMatchObject({ status: 409, code: 'ALREADY_COMPLETE', body: '1000', complete: true });
    }
    // The classic client's repeated last (empty) POST is still a success.
    expect(await post(srv.url, 'done', 1000, new Uint8Array(0))).toMatchObject({ status: 200, body: '1000', complete: true });
    expect((await status(srv.url, 'done')).body).toBe('1000');
  });
});

describe("the HTTP parser's own refusals", () => {
  it('a malformed request: 400 BAD_REQUEST with a reason', async () => {
    const reply = parseRaw(await rawRequest(srv.url, `GET /status HTTP/1.1\r\nHost: x\r\nX-File-Id: a\u0000b\r\n\r\n`));
    expect(reply.status).toBe(400);
    expect(reply.headers['x-error-code']).toBe('BAD_REQUEST');
    expect(reply.body.trim().length).toBeGreaterThan(0);
  });

  it('a header block too large: 431 HEADERS_TOO_LARGE with a reason', async () => {
    const reply = parseRaw(await rawRequest(srv.url, `GET /status HTTP/1.1\r\nHost: x\r\nX-File-Id: ${'y'.repeat(100_000)}\r\n\r\n`));
    expect(reply.status).toBe(431);
    expect(reply.headers['x-error-code']).toBe('HEADERS_TOO_LARGE');
    expect(reply.body.trim().length).toBeGreaterThan(0);
  });
});
