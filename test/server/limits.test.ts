// Per-namespace limits: how many unfinished uploads a namespace (a user, from authorize) may hold and
// how many bytes they may take. Past the count: 429; past the bytes: 507 (both transient: finishing
// or cancelling an upload makes room); an upload that could never fit: 413.
import { afterEach, describe, expect, it } from 'vitest';
import { UploadServerError } from '../../server/index.js';
import { startTestServer, type TestServer } from '../helpers/server.js';
import { call, post, postStream, randomData, status } from './client.js';

const servers: TestServer[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => s.close()));
});

async function start(options: Parameters<typeof startTestServer>[0]): Promise<TestServer> {
  const s = await startTestServer({
    authorize: (req) => {
      const user = req.headers['authorization'];
      if (!user) throw new UploadServerError('UNAUTHORIZED');
      return user;
    },
    ...options,
  });
  servers.push(s);
  return s;
}

const as = (user: string, extra: Record<string, string> = {}): Record<string, string> => ({ Authorization: user, ...extra });

describe('maxPartialUploads', () => {
  it('refuses a new upload past the count with 429 TOO_MANY_UPLOADS, per namespace', async () => {
    const srv = await start({ namespaceLimits: { maxPartialUploads: 3 } });
    for (const id of ['a', 'b', 'c']) {
      expect(await post(srv.url, id, 0, randomData(1), as('alice', { 'X-File-Size': '100' }))).toMatchObject({ status: 200 });
    }
    const refused = await post(srv.url, 'd', 0, randomData(1), as('alice', { 'X-File-Size': '100' }));
    expect(refused).toMatchObject({ status: 429, code: 'TOO_MANY_UPLOADS' });
    expect(refused.body).toMatch(/3/);
    expect((await status(srv.url, 'd', as('alice'))).body).toBe('0');
    // Uploads already held continue; another namespace is not affected.
    expect(await post(srv.url, 'a', 1, randomData(1), as('alice'))).toMatchObject({ status: 200, body: '2' });
    expect(await post(srv.url, 'd', 0, randomData(1), as('bob', { 'X-File-Size': '100' }))).toMatchObject({ status: 200 });
    // Finishing one, or cancelling one, makes room.
    expect(await post(srv.url, 'b', 1, randomData(99), as('alice'))).toMatchObject({ status: 200, complete: true });
    expect(await post(srv.url, 'd', 0, randomData(1), as('alice', { 'X-File-Size': '100' }))).toMatchObject({ status: 200 });
    expect(await post(srv.url, 'e', 0, randomData(1), as('alice', { 'X-File-Size': '100' }))).toMatchObject({ status: 429 });
    expect((await call(`${srv.url}/upload`, { method: 'DELETE', headers: as('alice', { 'X-File-Id': 'c' }) })).status).toBe(204);
    expect(await post(srv.url, 'e', 0, randomData(1), as('alice', { 'X-File-Size': '100' }))).toMatchObject({ status: 200 });
  });

  it('holds against many simultaneous new uploads', async () => {
    const srv = await start({ namespaceLimits: { maxPartialUploads: 5 } });
    const replies = await Promise.all(
      Array.from({ length: 40 }, (_, i) => post(srv.url, `burst-${i}`, 0, randomData(1000), as('mallory', { 'X-File-Size': '5000' }))),
    );
    expect(replies.filter((r) => r.status === 200)).toHaveLength(5);
    expect(replies.filter((r) => r.status === 429)).toHaveLength(35);
  });
});

describe('maxPartialBytes', () => {
  it('refuses bytes past the budget with 507 TOO_MANY_BYTES, and what could never fit with 413', async () => {
    const srv = await start({ namespaceLimits: { maxPartialBytes: 10_000 } });
    expect(await post(srv.url, 'huge', 0, randomData(10), as('alice', { 'X-File-Size': '10001' }))).toMatchObject({ status: 413, code: 'TOO_LARGE' });
    // A declared size counts in full from the first byte, so an upload let in can always finish.
    expect(await post(srv.url, 'a', 0, randomData(6000), as('alice', { 'X-File-Size': '8000' }))).toMatchObject({ status: 200, body: '6000' });
    const over = await post(srv.url, 'b', 0, randomData(1), as('alice', { 'X-File-Size': '5000' }));
    expect(over).toMatchObject({ status: 507, code: 'TOO_MANY_BYTES', offset: 0 });
    expect(over.body).toMatch(/10000/);
    expect((await status(srv.url, 'b', as('alice'))).body).toBe('0');
    // What fits goes in; a completed upload no longer counts; other namespaces are not affected.
    expect(await post(srv.url, 'b', 0, randomData(2000), as('alice', { 'X-File-Size': '2000' }))).toMatchObject({ status: 200, complete: true });
    expect(await post(srv.url, 'c', 0, randomData(1000), as('alice', { 'X-File-Size': '3000' }))).toMatchObject({ status: 507 });
    expect(await post(srv.url, 'c', 0, randomData(10), as('bob', { 'X-File-Size': '9000' }))).toMatchObject({ status: 200 });
    // The full namespace still finishes what it started, and that makes room.
    expect(await post(srv.url, 'a', 6000, randomData(2000), as('alice'))).toMatchObject({ status: 200, complete: true });
    expect(await post(srv.url, 'c', 0, randomData(1000), as('alice', { 'X-File-Size': '3000' }))).toMatchObject({ status: 200, body: '1000' });
  });

  it('stops a streamed body at the budget, keeping what fit', async () => {
    const srv = await start({ namespaceLimits: { maxPartialBytes: 10_000 } });
    const r = await postStream(srv.url, 'stream', 0, [randomData(6000), randomData(6000)], as('alice'));
    expect(r).toMatchObject({ status: 507, code: 'TOO_MANY_BYTES', offset: 10_000 });
    expect(await status(srv.url, 'stream', as('alice'))).toMatchObject({ body: '10000', complete: false });
  });
});
