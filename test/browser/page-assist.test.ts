// Page-assisted uploads in Chromium: an open page carries the bytes with XMLHttpRequest for the
// worker (progress it can see), and the worker takes over the moment the page goes away.
import { afterEach, describe, expect, it } from 'vitest';
import type { Page } from 'playwright-core';
import { completedHashes, makeFile, rows, waitForRows } from './harness.js';
import { openLab, until, type Lab } from './lab.js';

const MiB = 1024 * 1024;

/** Records every change of the first row's sent/confirmed bytes, with its time, from inside the page. */
async function watchProgress(page: Page): Promise<void> {
  await page.evaluate(() => {
    const log: { at: number; sent: number; offset: number }[] = [];
    (globalThis as unknown as { progressLog: typeof log }).progressLog = log;
    const observer = new MutationObserver(() => {
      const row = document.querySelector<HTMLElement>('li[data-upload-id]');
      if (!row) return;
      const entry = { at: performance.now(), sent: Number(row.dataset.sent ?? 0), offset: Number(row.dataset.offset ?? 0) };
      const last = log.at(-1);
      if (!last || last.sent !== entry.sent || last.offset !== entry.offset) log.push(entry);
    });
    observer.observe(document.getElementById('uploads')!, { subtree: true, attributes: true, attributeFilter: ['data-sent', 'data-offset'], childList: true });
  });
}

function progressLog(page: Page): Promise<{ at: number; sent: number; offset: number }[]> {
  return page.evaluate(() => (globalThis as unknown as { progressLog: { at: number; sent: number; offset: number }[] }).progressLog);
}

/** True once the page reports bytes sent beyond what the server confirmed: only a page's XHR can tell. */
async function carriedByPage(page: Page): Promise<boolean> {
  return (await page.$$eval('li[data-upload-id]', (els) => els.some((el) => Number((el as HTMLElement).dataset.sent) > Number((el as HTMLElement).dataset.offset)))) === true;
}

describe('page-assisted uploads in Chromium', () => {
  let lab: Lab | undefined;
  afterEach(async () => {
    await lab?.close();
    lab = undefined;
  });

  it('the open page carries the bytes: sent runs ahead of confirmed, both only grow, several updates a second; byte-identical', async () => {
    lab = await openLab({ bytesPerSecond: 8 * MiB });
    const source = await makeFile(lab.filesDir, 'assisted.bin', 24 * MiB);
    const page = await lab.open('?digest=0');
    await watchProgress(page);
    await page.setInputFiles('#file', [source.path]);
    await waitForRows(page, 1, ['done']);
    expect(await completedHashes(lab.uploadDir)).toEqual(new Set([source.sha256]));
    const log = await progressLog(page);
    expect(log.some((e) => e.sent > e.offset)).toBe(true);
    for (let i = 1; i < log.length; i++) {
      expect(log[i]!.offset).toBeGreaterThanOrEqual(log[i - 1]!.offset);
      expect(Math.max(log[i]!.sent, log[i]!.offset)).toBeGreaterThanOrEqual(log[i - 1]!.offset);
    }
    // A 3 s transfer at 8 MiB/s: progress shows at 4 or more updates a second while it runs.
    const moving = log.filter((e) => e.sent > 0 && e.sent < source.size);
    const span = (moving.at(-1)!.at - moving[0]!.at) / 1000;
    expect(moving.length / Math.max(span, 0.001)).toBeGreaterThanOrEqual(4);
  });

  it('the page closes mid-transfer: the worker carries on by itself within a second, the file byte-identical', async () => {
    lab = await openLab({ bytesPerSecond: 4 * MiB });
    const source = await makeFile(lab.filesDir, 'handover.bin', 24 * MiB);
    const page = await lab.open('?digest=0');
    await page.setInputFiles('#file', [source.path]);
    await until('the page carrying bytes', () => carriedByPage(page));
    await page.close();
    const closedAt = Date.now();
    const before = lab.proxy.stats().requests;
    // The worker's own request reaches the proxy: it learnt at once that the page was gone.
    await until('a request from the worker', async () => lab!.proxy.stats().requests > before, 30_000);
    const resumedAfter = Date.now() - closedAt;
    console.info(`page closed → worker's first request after ${resumedAfter} ms`);
    expect(resumedAfter).toBeLessThan(3_000);
    const again = await lab.open('?digest=0');
    await waitForRows(again, 1, ['done']);
    expect(await completedHashes(lab.uploadDir)).toEqual(new Set([source.sha256]));
  });

  it('two tabs open: one of them carries the upload, its bytes go once', async () => {
    lab = await openLab({ bytesPerSecond: 8 * MiB });
    const source = await makeFile(lab.filesDir, 'once.bin', 16 * MiB);
    const first = await lab.open('?digest=0');
    const second = await lab.open('?digest=0');
    await first.setInputFiles('#file', [source.path]);
    await waitForRows(first, 1, ['done']);
    await waitForRows(second, 1, ['done']);
    expect(await completedHashes(lab.uploadDir)).toEqual(new Set([source.sha256]));
    expect(lab.proxy.stats().bodyBytes).toBe(source.size);
  });

  it('pause stops the page’s request at once; resume finishes it; cancel during a page-sent transfer cancels it', async () => {
    lab = await openLab({ bytesPerSecond: 4 * MiB });
    const kept = await makeFile(lab.filesDir, 'paused.bin', 16 * MiB);
    const dropped = await makeFile(lab.filesDir, 'cancelled.bin', 16 * MiB);
    const page = await lab.open('?digest=0&concurrency=1');
    await page.setInputFiles('#file', [kept.path]);
    await until('the page carrying bytes', () => carriedByPage(page));
    const [row] = await rows(page);
    await page.click(`li[data-upload-id="${row!.id}"] button[data-action="pause"]`);
    await until('paused', async () => (await rows(page))[0]?.state === 'paused');
    const stopped = lab.proxy.stats();
    // The page's request is aborted: no new request starts, and the link goes quiet once the
    // bytes already in the kernel's socket buffers (a few MiB on loopback) have drained.
    await until('the link quiet', async () => {
      const a = lab!.proxy.stats().clientToServerBytes;
      await new Promise((r) => setTimeout(r, 500));
      return lab!.proxy.stats().clientToServerBytes === a;
    });
    const after = lab.proxy.stats();
    expect(after.requests).toBe(stopped.requests);
    expect(after.clientToServerBytes - stopped.clientToServerBytes).toBeLessThan(8 * MiB);
    expect((await rows(page))[0]).toMatchObject({ state: 'paused' });
    expect((await rows(page))[0]!.offset).toBeLessThan(kept.size);
    await page.click(`li[data-upload-id="${row!.id}"] button[data-action="resume"]`);
    await waitForRows(page, 1, ['done']);

    await page.setInputFiles('#file', [dropped.path]);
    await until('the page carrying the second file', () => carriedByPage(page));
    const second = (await rows(page)).find((r) => r.name === 'cancelled.bin')!;
    await page.click(`li[data-upload-id="${second.id}"] button[data-action="cancel"]`);
    await until('cancelled', async () => (await rows(page)).find((r) => r.id === second.id)?.state === 'cancelled');
    expect(await completedHashes(lab.uploadDir)).toEqual(new Set([kept.sha256]));
  });
});
