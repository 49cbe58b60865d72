// The three recipes of examples/ as a developer deploys them, in one Chromium against one server:
// each uploads byte-identical files through a reload and an outage; the app's worker updates
// (with and without skipWaiting) without losing a stored upload or one in flight; a worker
// without the uploader is named as such (NOT_INSTALLED).
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { randomBytes } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { launchChromium } from '../../lab/chromium.js';
import { sha256 } from '../helpers/hash.js';
import { until } from '../../lab/poll.js';
import { openSites, type Site, type SiteName, type Sites } from './sites.js';

const MiB = 1024 * 1024;

let browser: Browser;
let sites: Sites;
let filesDir: string;
let context: BrowserContext | undefined;

beforeAll(async () => {
  filesDir = await mkdtemp(join(tmpdir(), 'ru-example-files-'));
  sites = await openSites();
  browser = await launchChromium();
});
afterAll(async () => {
  await browser?.close();
  await sites?.close();
  await rm(filesDir, { recursive: true, force: true });
});
afterEach(async () => {
  await context?.close();
  context = undefined;
  for (const name of ['vite-pwa-react', 'workbox-generate-sw', 'plain-page'] as const) {
    const { proxy } = sites.site(name);
    proxy.setRate(undefined);
    await proxy.setOffline(false);
  }
});

interface Source {
  readonly path: string;
  readonly name: string;
  readonly size: number;
  readonly sha256: string;
}

let serial = 0;
async function makeFile(site: SiteName, size: number): Promise<Source> {
  const name = `${site}-${++serial}.bin`;
  const data = randomBytes(size);
  const path = join(filesDir, name);
  await writeFile(path, data);
  return { path, name, size, sha256: sha256(data) };
}

interface Row {
  readonly id: string;
  readonly name: string;
  readonly state: string;
  readonly offset: number;
}

/** Every example renders the same contract: `li[data-upload-id]` with `data-state`, `data-offset` and `.name`. */
function rows(page: Page): Promise<Row[]> {
  return page.$$eval('li[data-upload-id]', (items) =>
    items.map((el) => {
      const li = el as HTMLLIElement;
      return { id: li.dataset.uploadId ?? '', name: li.querySelector('.name')?.textContent ?? '', state: li.dataset.state ?? '', offset: Number(li.dataset.offset ?? 0) };
    }),
  );
}

function row(page: Page, name: string, test: (row: Row) => boolean, what: string): Promise<Row> {
  return until(`${name} ${what}`, async () => (await rows(page)).find((r) => r.name === name && test(r)));
}

/** A fresh browser profile (its own workers and IndexedDB) with the site open and its uploader connected. */
async function open(site: Site, path = '/'): Promise<Page> {
  context = await browser.newContext();
  const page = await context.newPage();
  await page.goto(site.url + path);
  await ready(page);
  return page;
}

async function ready(page: Page): Promise<void> {
  await page.waitForSelector('[data-uploader="ready"]', { timeout: 60_000 });
}

async function expectUploaded(...sources: Source[]): Promise<void> {
  const completed = await sites.completed();
  for (const source of sources) expect(completed.get(source.name), source.name).toBe(source.sha256);
}

const EXAMPLES: readonly SiteName[] = ['vite-pwa-react', 'workbox-generate-sw', 'plain-page'];

/** Opens the site and starts an upload slow enough (2 MiB/s through the proxy) to be interrupted. */
async function startUpload(name: SiteName): Promise<{ site: Site; page: Page; source: Source; under: Row }> {
  const site = sites.site(name);
  site.proxy.setRate(2 * MiB);
  const source = await makeFile(name, 8 * MiB);
  const page = await open(site);
  await page.setInputFiles('#file', source.path);
  const under = await row(page, source.name, (r) => r.state === 'uploading' && r.offset > 0, 'under way');
  return { site, page, source, under };
}

describe.each(EXAMPLES)('examples/%s', (name) => {
  it('uploads a file byte-identical, and a reload mid-upload loses nothing', async () => {
    const { page, source, under } = await startUpload(name);
    expect(under.offset).toBeLessThan(source.size);
    await page.reload();
    await ready(page);
    // The list comes back from the worker, and the upload goes on from what the server holds.
    const after = await row(page, source.name, () => true, 'listed after the reload');
    expect(after.offset).toBeGreaterThanOrEqual(under.offset);
    await row(page, source.name, (r) => r.state === 'done', 'done');
    await expectUploaded(source);
  });

  it('goes offline mid-upload, waits without failing, and finishes once back online', async () => {
    const { site, page, source } = await startUpload(name);
    // The network goes away for the page (navigator.onLine, `offline`) and for the worker (refused).
    await context!.setOffline(true);
    await site.proxy.setOffline(true);
    const waiting = await row(page, source.name, (r) => r.state === 'waiting', 'waiting');
    expect(waiting.offset).toBeLessThan(source.size);
    await site.proxy.setOffline(false);
    await context!.setOffline(false);
    await row(page, source.name, (r) => r.state === 'done', 'done');
    expect((await rows(page)).some((r) => r.state === 'failed')).toBe(false);
    await expectUploaded(source);
  });
});

/** Stores one upload and pauses it (a stored upload to keep), then starts another (one in flight) at `rate`: slow enough (12 MiB at 1 MiB/s) that the update lands mid-upload on a busy machine. */
async function storedAndInFlight(page: Page, site: Site, name: SiteName, rate: number): Promise<{ paused: Source; running: Source }> {
  const paused = await makeFile(name, 3 * MiB);
  const running = await makeFile(name, 12 * MiB);
  site.proxy.setRate(64 * 1024); // slow enough that it is still unfinished when paused
  await page.setInputFiles('#file', paused.path);
  const stored = await row(page, paused.name, () => true, 'stored');
  await page.locator(`li[data-upload-id="${stored.id}"] button`, { hasText: 'Pause' }).click();
  await row(page, paused.name, (r) => r.state === 'paused', 'paused');
  site.proxy.setRate(rate);
  await page.setInputFiles('#file', running.path);
  await row(page, running.name, (r) => r.state === 'uploading' && r.offset > 0, 'under way');
  return { paused, running };
}

async function resumeAndFinish(page: Page, ...sources: Source[]): Promise<void> {
  for (const source of sources) {
    const stored = await row(page, source.name, () => true, 'still listed');
    if (stored.state === 'paused') await page.locator(`li[data-upload-id="${stored.id}"] button`, { hasText: 'Resume' }).click();
  }
  for (const source of sources) await row(page, source.name, (r) => r.state === 'done', 'done');
  await expectUploaded(...sources);
}

describe('the app updates its service worker mid-upload', () => {
  it('vite-plugin-pwa, prompt (no skipWaiting): the new version waits while the upload goes on, then takes over when the user accepts; nothing is lost', async () => {
    const site = sites.site('vite-pwa-react');
    const page = await open(site);
    // A returning visitor: the page loads under the worker (on a first visit the plugin's
    // registerSW does not reload after an update, as the page was not controlled at its start).
    await page.reload();
    await ready(page);
    const { paused, running } = await storedAndInFlight(page, site, 'vite-pwa-react', MiB);

    site.deploy();
    await page.evaluate(async () => (await navigator.serviceWorker.getRegistration())!.update());
    await page.waitForSelector('#update', { timeout: 60_000 });
    expect(await page.evaluate(async () => (await navigator.serviceWorker.getRegistration())?.waiting !== null)).toBe(true);
    // The old version keeps uploading while the new one waits.
    const at = (await row(page, running.name, () => true, 'listed')).offset;
    await row(page, running.name, (r) => r.offset > at, 'progressing under the old version');

    // "Update": the plugin asks the waiting worker to skip waiting, then reloads the page.
    const reloaded = page.waitForEvent('load', { timeout: 60_000 });
    await page.click('#update');
    await reloaded;
    await ready(page);
    expect(await page.evaluate(async () => (await navigator.serviceWorker.getRegistration())?.waiting ?? null)).toBeNull();
    const taken = await row(page, running.name, () => true, 'listed by the new version');
    expect(taken.offset).toBeLessThan(running.size);
    expect((await row(page, paused.name, () => true, 'kept')).state).toBe('paused');
    await resumeAndFinish(page, paused, running);
  });

  it('Workbox generateSW with skipWaiting: the new version replaces the old at once, mid-upload; the upload resumes in it, the stored one is kept', async () => {
    const site = sites.site('workbox-generate-sw');
    const page = await open(site);
    const { paused, running } = await storedAndInFlight(page, site, 'workbox-generate-sw', MiB);

    await page.evaluate(async () => {
      (globalThis as { firstWorker?: ServiceWorker | null }).firstWorker = (await navigator.serviceWorker.getRegistration())!.active;
    });
    site.deploy();
    await page.evaluate(async () => (await navigator.serviceWorker.getRegistration())!.update());
    await until('the new version active', () =>
      page.evaluate(async () => {
        const active = (await navigator.serviceWorker.getRegistration())?.active ?? null;
        return active !== null && active !== (globalThis as { firstWorker?: ServiceWorker | null }).firstWorker && active.state === 'activated';
      }),
    );
    const taken = await row(page, running.name, () => true, 'listed');
    expect(taken.offset).toBeLessThan(running.size);
    expect((await row(page, paused.name, () => true, 'kept')).state).toBe('paused');
    await resumeAndFinish(page, paused, running);
  });
});

describe('a page whose worker is not the uploader', () => {
  it("the app's worker lacks installUploader: NOT_INSTALLED with the fix, not a timeout; a second worker for its scope is refused", async () => {
    const site = sites.site('plain-page');
    context = await browser.newContext();
    const page = await context.newPage();
    await page.goto(`${site.url}/not-installed/`);
    const outcome = await page.evaluate(async () => {
      // Imported as the page would (Function keeps the test runner from rewriting import()).
      const load = new Function('url', 'return import(url)') as (url: string) => Promise<typeof import('../../src/index.js')>;
      const { createUploader } = await load('/vendor/resilient-upload/index.js');
      const failure = (e: { code: string; message: string }) => ({ code: e.code, message: e.message });
      const registration = navigator.serviceWorker.register('/not-installed/sw.js', { scope: '/not-installed/' });
      const notInstalled = await createUploader({ registration, timeoutMs: 3000 }).then(() => undefined, failure);
      const replacing = await createUploader({ serviceWorker: '/resilient-upload-sw.js', scope: '/not-installed/' }).then(() => undefined, failure);
      return { notInstalled, replacing };
    });
    expect(outcome.notInstalled?.code).toBe('NOT_INSTALLED');
    expect(outcome.notInstalled?.message).toContain('/not-installed/sw.js does not run the uploader');
    expect(outcome.notInstalled?.message).toContain("import { installUploader } from 'resilient-upload/sw'");
    expect(outcome.replacing?.code).toBe('INVALID_ARGUMENT');
    expect(outcome.replacing?.message).toContain('would replace it');
  });

  it('no worker at all: waiting for the app to register one ends in NO_SERVICE_WORKER, with what to do', async () => {
    const site = sites.site('plain-page');
    context = await browser.newContext();
    const page = await context.newPage();
    await page.goto(`${site.url}/blank.html`);
    const outcome = await page.evaluate(async () => {
      // Imported as the page would (Function keeps the test runner from rewriting import()).
      const load = new Function('url', 'return import(url)') as (url: string) => Promise<typeof import('../../src/index.js')>;
      const { createUploader } = await load('/vendor/resilient-upload/index.js');
      return createUploader({ readyTimeoutMs: 1000 }).then(
        () => undefined,
        (e: { code: string; message: string }) => ({ code: e.code, message: e.message }),
      );
    });
    expect(outcome?.code).toBe('NO_SERVICE_WORKER');
    expect(outcome?.message).toContain("register your app's worker");
  });
});
