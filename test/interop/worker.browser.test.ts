// Our worker (the demo's resilient-upload-sw.js, `?protocol=&endpoint=`) in Chromium against real servers over tus
// and the IETF draft, through every fault that applies, one after the other in one upload: the
// server unreachable (its proxy offline), the worker stopped, the server SIGKILLed and restarted,
// the browser quit and relaunched. Files byte-identical. And a server without CORS for the page's
// origin: a clear CORS error on the row, a few tries, no retry storm.
import { afterEach, describe, expect, it } from 'vitest';
import type { Page } from 'playwright-core';
import { startFaultProxy } from '../../lab/fault-proxy.js';
import { startTestServer } from '../helpers/server.js';
import { demoRows, stopWorkers, type Row } from './chromium.js';
import { finishedHashes, makeSource, openInteropLab, until, type InteropLab, type UploadServerKind } from './interop-lab.js';

const MiB = 1024 * 1024;
let lab: InteropLab | undefined;
afterEach(async () => {
  await lab?.close();
  lab = undefined;
});

const only = async (page: Page): Promise<Row> => (await demoRows(page))[0] ?? { name: '', state: '', offset: 0, error: '' };

/** Waits until the server confirmed more than `after` bytes: the upload moves again (and is not over yet). */
async function movesPast(page: Page, after: number, what: string): Promise<number> {
  const row = await until(`${what}: past byte ${after}`, async () => {
    const r = await only(page);
    if (r.state === 'done') throw new Error(`${what}: the upload finished before the next fault (make it slower)`);
    return r.offset > after ? r : undefined;
  }, 90_000, 100);
  return row.offset;
}

describe.each<[string, UploadServerKind, string]>([
  ['tus → @tus/server + @tus/file-store (another origin; digests off: it has no checksum extension)', 'tus-server', 'protocol=tus&digest=0'],
  ['tus → our server (sha256 checksums)', 'ours', 'protocol=tus'],
  ['IETF draft 8 → our server (Content-Digest)', 'ours', 'protocol=ietf'],
])('worker in Chromium, %s', (_name, kind, protocol) => {
  it('offline, worker stop, server kill, browser relaunch: finishes byte-identical', async () => {
    lab = await openInteropLab(kind);
    const l = lab;
    const query = `?${protocol}&endpoint=${encodeURIComponent(`${l.proxy.url}/files/`)}`;
    const source = await makeSource(l.filesDir, 'interop.bin', 24 * MiB);
    l.proxy.setRate(1.5 * MiB);
    let page = await l.open(query);
    await page.setInputFiles('#file', [source.path]);
    let offset = await movesPast(page, 0, 'started');

    await l.proxy.setOffline(true);
    await until('waiting while the server is unreachable', async () => (await only(page)).state === 'waiting', 60_000);
    expect((await only(page)).state).not.toBe('failed');
    await l.proxy.setOffline(false);
    offset = await movesPast(page, offset, 'back online');

    await stopWorkers(page);
    offset = await movesPast(page, offset, 'after the worker was stopped');

    await l.killAndRestart(() => until('waiting while the server is down', async () => (await only(page)).state === 'waiting', 60_000).then(() => undefined));
    offset = await movesPast(page, offset, 'after the server restarted');
    expect(offset).toBeLessThan(source.size);

    await l.relaunch();
    l.proxy.setRate(undefined);
    page = await l.open(query);
    await until('done after the relaunch', async () => (await only(page)).state === 'done', 90_000);
    expect(await only(page)).toMatchObject({ name: 'interop.bin', state: 'done', offset: source.size });
    expect((await finishedHashes(l, kind)).has(source.sha256)).toBe(true);
  });
});

describe('worker in Chromium, a tus server without CORS for this origin', () => {
  it('the row says CORS, tries a few times with backoff, then fails: no retry storm', async () => {
    lab = await openInteropLab('ours');
    const other = await startTestServer();
    const proxy = await startFaultProxy({ targetPort: other.port });
    try {
      const page = await lab.open(`?protocol=tus&digest=0&endpoint=${encodeURIComponent(`${proxy.url}/files/`)}`);
      const source = await makeSource(lab.filesDir, 'cors.bin', 1000);
      await page.setInputFiles('#file', [source.path]);
      const failed = await until('failed', async () => {
        const r = await only(page);
        return r.state === 'failed' ? r : undefined;
      }, 60_000);
      expect(failed.error).toContain('CORS');
      expect(failed.error).toContain(lab.pageOrigin);
      // Four tries, each a request and its two probes (with their preflights): a handful, not a storm.
      expect(proxy.stats().requests).toBeLessThanOrEqual(24);
    } finally {
      await proxy.close();
      await other.close();
    }
  });
});
