// Fault suite, lifecycle cases: the tab closes, the worker is stopped, the browser quits, the server dies.
import { afterEach, describe, expect, it } from 'vitest';
import { completedHashes, makeFile, rows, stopServiceWorkers, waitForRows } from './harness.js';
import { openLab, until, type Lab } from './lab.js';

const MiB = 1024 * 1024;

describe('fault suite: lifecycle', () => {
  let lab: Lab | undefined;
  afterEach(async () => {
    await lab?.close();
    lab = undefined;
  });

  it('4. close the tab mid-upload, open the page again: the list is there and uploads finish', async () => {
    lab = await openLab({ bytesPerSecond: 4 * MiB });
    const sources = [await makeFile(lab.filesDir, 'x.bin', 16 * MiB), await makeFile(lab.filesDir, 'y.bin', 2 * MiB)];
    let page = await lab.open();
    await page.setInputFiles('#file', sources.map((f) => f.path));
    await until('an upload under way', async () => (await rows(page)).some((r) => r.offset > 0 && r.state === 'uploading'));
    await page.close();
    // Playwright keeps devtools attached to the worker, so Chromium would never stop it: stop it
    // as the browser eventually does once no tab is left.
    const other = await lab.context.newPage();
    await stopServiceWorkers(other);
    await other.close();
    page = await lab.open();
    const listed = await rows(page);
    expect(listed.map((r) => r.name).sort()).toEqual(['x.bin', 'y.bin']);
    await waitForRows(page, 2, ['done']);
    expect(await completedHashes(lab.uploadDir)).toEqual(new Set(sources.map((f) => f.sha256)));
  });

  it('5. the service worker is stopped mid-upload: uploads continue on its next start', async () => {
    lab = await openLab({ bytesPerSecond: 4 * MiB });
    const source = await makeFile(lab.filesDir, 'stopped.bin', 20 * MiB);
    const page = await lab.open();
    await page.setInputFiles('#file', [source.path]);
    await until('an upload under way', async () => (await rows(page)).some((r) => r.offset > 0));
    await stopServiceWorkers(page);
    const before = (await rows(page))[0]!.offset;
    // No page action: the open tab's keep-alive starts the worker again.
    await waitForRows(page, 1, ['done']);
    expect(before).toBeLessThan(source.size);
    expect(await completedHashes(lab.uploadDir)).toEqual(new Set([source.sha256]));
  });

  it('6. the whole browser quits mid-upload and starts again with the same profile: uploads finish', async () => {
    lab = await openLab({ bytesPerSecond: 4 * MiB });
    const source = await makeFile(lab.filesDir, 'relaunch.bin', 16 * MiB);
    const page = await lab.open();
    await page.setInputFiles('#file', [source.path]);
    await until('an upload under way', async () => (await rows(page)).some((r) => r.offset > 0));
    await lab.relaunch();
    const again = await lab.open();
    expect((await rows(again)).map((r) => r.name)).toEqual(['relaunch.bin']);
    await waitForRows(again, 1, ['done']);
    expect(await completedHashes(lab.uploadDir)).toEqual(new Set([source.sha256]));
  });

  it('7. the server is SIGKILLed mid-upload and restarted: uploads wait, then finish', async () => {
    lab = await openLab({ childServer: true, bytesPerSecond: 4 * MiB });
    const source = await makeFile(lab.filesDir, 'killed.bin', 16 * MiB);
    const page = await lab.open();
    await page.setInputFiles('#file', [source.path]);
    await until('an upload under way', async () => (await rows(page)).some((r) => r.offset > 0));
    await lab.killServer();
    await until('the row waiting', async () => (await rows(page)).some((r) => r.state === 'waiting'));
    expect((await rows(page)).some((r) => r.state === 'failed')).toBe(false);
    await new Promise((r) => setTimeout(r, 3000));
    await lab.startServer();
    await waitForRows(page, 1, ['done']);
    expect(await completedHashes(lab.uploadDir)).toEqual(new Set([source.sha256]));
  });
});
