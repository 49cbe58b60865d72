// The demo in real headless Chromium: files picked in the page reach the server through the service worker.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { BrowserContext } from 'playwright-core';
import { startTestServer } from '../helpers/server.js';
import { assertDemoBuilt, completedHashes, DEMO_DIR, launch, makeFile, openDemo, rows, tempDir, waitForRows } from './harness.js';

describe('demo PWA in Chromium', () => {
  let server: Awaited<ReturnType<typeof startTestServer>>;
  let context: BrowserContext;
  let profile: Awaited<ReturnType<typeof tempDir>>;
  let files: Awaited<ReturnType<typeof tempDir>>;

  beforeAll(async () => {
    assertDemoBuilt();
    server = await startTestServer({ staticDir: DEMO_DIR });
    profile = await tempDir('profile');
    files = await tempDir('files');
    context = await launch(profile.path);
  });

  afterAll(async () => {
    await context?.close();
    await server?.close();
    await profile?.remove();
    await files?.remove();
  });

  it('uploads picked files through the service worker, byte-identical', async () => {
    const sources = [
      await makeFile(files.path, 'one.bin', 1024 * 1024),
      await makeFile(files.path, 'été à la plage ✈.bin', 3 * 1024 * 1024 + 17),
      await makeFile(files.path, 'tiny.txt', 1),
    ];
    const page = await openDemo(context, server.url);
    expect(await page.evaluate(() => navigator.serviceWorker.controller !== null || navigator.serviceWorker.ready.then(() => true))).toBeTruthy();
    await page.setInputFiles('#file', sources.map((f) => f.path));
    const done = await waitForRows(page, sources.length, ['done']);
    expect(done.map((r) => r.name).sort()).toEqual(sources.map((f) => f.name).sort());
    expect(await completedHashes(server.uploadDir)).toEqual(new Set(sources.map((f) => f.sha256)));

    // The list comes back after a reload, and re-adding a finished file does not upload it twice.
    await page.reload();
    await page.waitForSelector('body[data-ready="true"]');
    expect((await rows(page)).map((r) => r.state)).toEqual(['done', 'done', 'done']);
    await page.setInputFiles('#file', [sources[0]!.path]);
    await page.waitForTimeout(500);
    expect(await rows(page)).toHaveLength(3);
  });
});
