// Fault suite, in every engine: two tabs, a quota too small, a server that refuses for good.
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect } from 'vitest';
import { faultCase, selectedEngines } from './cases.js';
import type { Tab } from '../../lab/engines/index.js';
import { REPO, clickAction, completedHashes, makeFile, rows, until, waitForRows } from './harness.js';

const MiB = 1024 * 1024;

/** Counts what IndexedDB holds, straight from the page (not through the uploader). */
function idbCounts(tab: Tab): Promise<{ uploads: number; blobs: number }> {
  return tab.evaluate(async () => {
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
  }, null);
}

const messageText = (tab: Tab): Promise<string> => tab.evaluate(() => document.querySelector('#message')?.textContent ?? '', null);

for (const engine of selectedEngines()) {
  describe(`fault suite: tabs, quota, refusals · ${engine.name}`, () => {
    faultCase(
      engine,
      { id: '8', title: 'two tabs see the same uploads; pause and cancel in one are seen in the other', lab: { bytesPerSecond: 4 * MiB } },
      async (lab) => {
        const a = await makeFile(lab.filesDir, 'shared.bin', 16 * MiB);
        const b = await makeFile(lab.filesDir, 'cancel-me.bin', 16 * MiB);
        const first = await lab.open();
        await first.pick('#file', [a.path, b.path]);
        await until('bytes confirmed', async () => (await rows(first)).some((r) => r.offset > 0));
        // A tab opened mid-upload shows the current state at once (a snapshot on connect).
        const second = await lab.open();
        const seen = await rows(second);
        expect(seen.map((r) => r.name).sort()).toEqual(['cancel-me.bin', 'shared.bin']);
        expect(seen.some((r) => r.offset > 0)).toBe(true);
        const shared = seen.find((r) => r.name === 'shared.bin')!;
        const doomed = seen.find((r) => r.name === 'cancel-me.bin')!;

        await clickAction(first, shared.id, 'pause');
        await until('pause seen in the other tab', async () => (await rows(second)).find((r) => r.id === shared.id)?.state === 'paused');
        // The README's picture of the demo mid-upload (one row paused, one uploading), from Chromium,
        // written to docs/ only on request (UPDATE_SCREENSHOT=1) so a test run leaves the work tree clean.
        const shot = await first.screenshot();
        expect(shot.subarray(1, 4).toString()).toBe('PNG');
        if (process.env.UPDATE_SCREENSHOT && engine.name === 'chromium') await writeFile(join(REPO, 'docs/demo-mid-upload.png'), shot);
        await clickAction(second, doomed.id, 'cancel');
        await until('cancel seen in the other tab', async () => (await rows(first)).find((r) => r.id === doomed.id)?.state === 'cancelled');
        await clickAction(second, shared.id, 'resume');
        await waitForRows(first, 2, ['done', 'cancelled']);
        // Both tabs end with the same view.
        const finalFirst = (await rows(first)).map((r) => [r.id, r.state, r.offset]);
        await until('second tab caught up', async () => JSON.stringify((await rows(second)).map((r) => [r.id, r.state, r.offset])) === JSON.stringify(finalFirst));
        expect(await completedHashes(lab.uploadDir)).toEqual(new Set([a.sha256]));
      },
    );

    faultCase(
      engine,
      {
        id: '9',
        title: 'a quota too small: add rejects with QUOTA_EXCEEDED, the UI says so, nothing half-stored, others go on',
        needs: ['storageQuota'],
        lab: { storageQuotaBytes: 8 * MiB },
      },
      async (lab) => {
        const small = await makeFile(lab.filesDir, 'fits.bin', 256 * 1024);
        const big = await makeFile(lab.filesDir, 'too-big.bin', 24 * MiB);
        const page = await lab.open();
        await page.pick('#file', [big.path, small.path]);
        // Either the worker's estimate() check or its own IndexedDB transaction refuses, rolled back whole.
        await until('the quota message', async () => /too-big\.bin.*not have enough storage/.test(await messageText(page)));
        await waitForRows(page, 1, ['done']);
        expect((await rows(page))[0]!.name).toBe('fits.bin');
        expect(await idbCounts(page)).toEqual({ uploads: 1, blobs: 0 });
        expect(await completedHashes(lab.uploadDir)).toEqual(new Set([small.sha256]));
      },
    );

    faultCase(
      engine,
      {
        id: '10',
        title: 'the server refuses for good (413): failed with its reason, no retry loop; retry after the fix works',
        lab: { childServer: true, maxUploadSize: 1 * MiB },
      },
      async (lab) => {
        const source = await makeFile(lab.filesDir, 'large.bin', 3 * MiB);
        const page = await lab.open();
        await page.pick('#file', [source.path]);
        const [failed] = await waitForRows(page, 1, ['failed']);
        expect(failed!.error).toMatch(/large|limit|maximum|exceed/i);
        const sent = lab.proxy.stats().clientToServerBytes;
        await new Promise((r) => setTimeout(r, 3000));
        expect(lab.proxy.stats().clientToServerBytes).toBe(sent);
        await lab.startServer({ maxUploadSize: 16 * MiB });
        await clickAction(page, failed!.id, 'retry');
        await waitForRows(page, 1, ['done']);
        expect(await completedHashes(lab.uploadDir)).toEqual(new Set([source.sha256]));
      },
    );
  });
}
