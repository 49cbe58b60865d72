// X-File-Name is untrusted: the metadata keeps it exactly as sent (`name`) and adds `safeName`, a
// version an application can use as a file name: no path separators, no control or bidi characters,
// bounded length.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { storageKey, type CompletedUpload } from '../../server/index.js';
import { startTestServer, type TestServer } from '../helpers/server.js';
import { post, randomData, waitFor } from './client.js';

const calls: CompletedUpload[] = [];
let srv: TestServer;
beforeAll(async () => {
  srv = await startTestServer({ onComplete: (info) => void calls.push(info) });
});
afterAll(async () => {
  await srv.close();
});

const UNSAFE = /[/\\\u0000-\u001f\u007f-\u009f\u061c\u200b-\u200f\u202a-\u202e\u2060-\u2069\ufeff]/u;

const names: Array<[string, string]> = [
  ['NUL', 'report\u0000.pdf'],
  ['CRLF', 'a.txt\r\nSet-Cookie: x=1'],
  ['path traversal', '../../../etc/passwd'],
  ['Windows path', '..\\..\\boot.ini'],
  ['markup', '<script>alert(1)</script>.html'],
  ['right-to-left override', 'invoice\u202Efdp.exe'],
  ['very long', `${'ß'.repeat(400)}.tar.gz`],
  ['only dots', '..'],
  ['device name', 'CON.txt'],
  ['plain', 'holiday photo.jpg'],
];

describe('safeName', () => {
  it.each(names)('%s: name kept as sent, safeName safe', async (_label, name) => {
    const id = `name-${_label}`;
    const r = await post(srv.url, id, 0, randomData(10), { 'X-File-Name': encodeURIComponent(name) });
    expect(r).toMatchObject({ status: 200, complete: true });
    const meta = JSON.parse(await readFile(join(srv.uploadDir, 'complete', `${storageKey({ namespace: '', id })}.json`), 'utf8')) as {
      name?: string;
      safeName?: string;
    };
    expect(meta.name).toBe(name);
    expect(typeof meta.safeName).toBe('string');
    const safe = meta.safeName!;
    expect(safe).not.toMatch(UNSAFE);
    expect(safe.length).toBeGreaterThan(0);
    expect(Buffer.byteLength(safe)).toBeLessThanOrEqual(255);
    expect(safe).not.toMatch(/^\.|[. ]$/);
    expect(safe).not.toMatch(/[<>:"|?*]/);
    // The hook gets the same metadata.
    await waitFor(async () => calls.some((c) => c.metadata.id === id));
    expect(calls.find((c) => c.metadata.id === id)!.metadata).toMatchObject({ name, safeName: safe });
  });

  it('keeps what is harmless: the base name, the extension, letters of any script', async () => {
    const cases: Array<[string, string]> = [
      ['../../../etc/passwd', 'passwd'],
      ['holiday photo.jpg', 'holiday photo.jpg'],
      ['invoice\u202Efdp.exe', 'invoicefdp.exe'],
      ['Ünïcödé 写真.png', 'Ünïcödé 写真.png'],
    ];
    for (const [i, [name, safe]] of cases.entries()) {
      const id = `exact-${i}`;
      await post(srv.url, id, 0, randomData(3), { 'X-File-Name': encodeURIComponent(name) });
      const meta = JSON.parse(await readFile(join(srv.uploadDir, 'complete', `${storageKey({ namespace: '', id })}.json`), 'utf8')) as { safeName?: string };
      expect(meta.safeName).toBe(safe);
    }
  });
});
