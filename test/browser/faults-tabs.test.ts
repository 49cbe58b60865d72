// Fault suite: two tabs, a quota too small, a server that refuses for good.
import { afterEach, describe, expect, it } from 'vitest';
import type { Page } from 'playwright-core';
import { join } from 'node:path';
import { REPO, completedHashes, makeFile, rows, waitForRows } from './harness.js';
import { openLab, until, type Lab } from './lab.js';

const MiB = 1024 * 1024;

function click(page: Page, id: string, action: string): Promise<void> {
  return page.click(`li[data-upload-id="${id}"] button[data-action="${action}"]`);
}

/** Counts what IndexedDB holds, straight from the page (not through the uploader). */
function idbCounts(page: Page): Promise<{ uploads: number; blobs: number }> {
  return page.evaluate(async () => {
    const db = await new Promise<IDBDatabase>((resolve, reject) => {
      const req = indexedDB.open('resilient-upload');
      req.onsuccess = () => resolve(req.result);
      req.onerror = () => reject(req.error);
    });
    const count = (store: string): Promise<number> =>
      new Promise((resolve, reject) => {
        const req = db.transaction(store).objectStore(store).count();
        req.onsuccess = () => resolve(req.result);
        req.onerror = () => reject(req.error);
      });
    const result = { uploads: await count('uploads'), blobs: await count('blobs') };
    db.close();
    return result;
  });
}

describe('fault suite: tabs, quota, refusals', () => {
  let lab: Lab | undefined;
  afterEach(async () => {
    await lab?.close();
    lab = undefined;
  });

  it('8. two tabs see the same uploads; pause and cancel in one are seen in the other', async () => {
    lab = await openLab({ bytesPerSecond: 4 * MiB });
    const a = await makeFile(lab.filesDir, 'shared.bin', 16 * MiB);
    const b = await makeFile(lab.filesDir, 'cancel-me.bin', 16 * MiB);
    const first = await lab.open();
    await first.setInputFiles('#file', [a.path, b.path]);
    await until('bytes confirmed', async () => (await rows(first)).some((r) => r.offset > 0));
    // A tab opened mid-upload shows the current state at once (a snapshot on connect).
    const second = await lab.open();
    const seen = await rows(second);
    expect(seen.map((r) => r.name).sort()).toEqual(['cancel-me.bin', 'shared.bin']);
    expect(seen.some((r) => r.offset > 0)).toBe(true);
    const shared = seen.find((r) => r.name === 'shared.bin')!;
    const doomed = seen.find((r) => r.name === 'cancel-me.bin')!;

    await click(first, shared.id, 'pause');
    await until('pause seen in the other tab', async () => (await rows(second)).find((r) => r.id === shared.id)?.state === 'paused');
    // The README's picture of the demo mid-upload: one row paused, one uploading.
    await first.setViewportSize({ width: 900, height: 560 });
    // Written to docs/ only on request (UPDATE_SCREENSHOT=1), so a test run leaves the work tree clean.
    const shot = await first.screenshot({ path: process.env.UPDATE_SCREENSHOT ? join(REPO, 'docs/demo-mid-upload.png') : undefined });
    expect(shot.subarray(1, 4).toString()).toBe('PNG');
    await click(second, doomed.id, 'cancel');
    await until('cancel seen in the other tab', async () => (await rows(first)).find((r) => r.id === doomed.id)?.state === 'cancelled');
    await click(second, shared.id, 'resume');
    await waitForRows(first, 2, ['done', 'cancelled']);
    // Both tabs end with the same view.
    const finalFirst = (await rows(first)).map((r) => [r.id, r.state, r.offset]);
    await until('second tab caught up', async () => JSON.stringify((await rows(second)).map((r) => [r.id, r.state, r.offset])) === JSON.stringify(finalFirst));
    expect(await completedHashes(lab.uploadDir)).toEqual(new Set([a.sha256]));
  });

  it('9. a quota too small: add rejects with QUOTA_EXCEEDED, the UI says so, nothing half-stored, others go on', async () => {
    lab = await openLab();
    const small = await makeFile(lab.filesDir, 'fits.bin', 256 * 1024);
    const big = await makeFile(lab.filesDir, 'too-big.bin', 24 * MiB);
    const page = await lab.open();
    const cdp = await lab.context.newCDPSession(page);
    await cdp.send('Storage.overrideQuotaForOrigin', { origin: new URL(lab.url).origin, quotaSize: 8 * MiB });
    await page.setInputFiles('#file', [big.path, small.path]);
    // Chromium's estimate() ignores the override but IndexedDB enforces it: this is the worker's
    // own transaction failing with QuotaExceededError, rolled back whole.
    await until('the quota message', async () => /too-big\.bin.*not have enough storage/.test((await page.textContent('#message')) ?? ''));
    await waitForRows(page, 1, ['done']);
    expect((await rows(page))[0]!.name).toBe('fits.bin');
    expect(await idbCounts(page)).toEqual({ uploads: 1, blobs: 0 });
    expect(await completedHashes(lab.uploadDir)).toEqual(new Set([small.sha256]));
    await cdp.detach();
  });

  it('10. the server refuses for good (413): failed with its reason, no retry loop; retry after the fix works', async () => {
    lab = await openLab({ childServer: true, maxUploadSize: 1 * MiB });
    const source = await makeFile(lab.filesDir, 'large.bin', 3 * MiB);
    const page = await lab.open();
    await page.setInputFiles('#file', [source.path]);
    const [failed] = await waitForRows(page, 1, ['failed']);
    expect(failed!.error).toMatch(/large|limit|maximum|exceed/i);
    const sent = lab.proxy.stats().clientToServerBytes;
    await new Promise((r) => setTimeout(r, 3000));
    expect(lab.proxy.stats().clientToServerBytes).toBe(sent);
    await lab.startServer({ maxUploadSize: 16 * MiB });
    await click(page, failed!.id, 'retry');
    await waitForRows(page, 1, ['done']);
    expect(await completedHashes(lab.uploadDir)).toEqual(new Set([source.sha256]));
  });
});
