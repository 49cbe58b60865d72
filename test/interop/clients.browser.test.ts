// Real clients in Chromium against our server's /files/: tus-js-client (its browser build) through
// connections cut mid-PATCH and across a page reload (findPreviousUploads), and Uppy with
// @uppy/tus. Files byte-identical, names in the completion metadata.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { BrowserContext, Page } from 'playwright-core';
import type { CompletedUpload } from '../../server/index.js';
import { startFaultProxy, type FaultProxy } from '../../lab/fault-proxy.js';
import { startTestServer, type TestServer } from '../helpers/server.js';
import { launchChromium } from './chromium.js';
import { sha256 } from '../helpers/hash.js';
import { makeSource, until, type Source } from './interop-lab.js';
import { writeClientPages } from './pages/index.js';

const MiB = 1024 * 1024;
let dir: string;
let server: TestServer;
let proxy: FaultProxy;
let context: BrowserContext;
const completed: CompletedUpload[] = [];

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'ru-interop-clients-'));
  await writeClientPages(join(dir, 'pages'));
  server = await startTestServer({ staticDir: join(dir, 'pages'), onComplete: (info) => void completed.push(info) });
  proxy = await startFaultProxy({ targetPort: server.port });
  context = await launchChromium(join(dir, 'profile'));
});
afterAll(async () => {
  await context?.close();
  await proxy?.close();
  await server?.close();
  await rm(dir, { recursive: true, force: true });
});

async function picked(pageName: string, source: Source): Promise<Page> {
  const page = await context.newPage();
  await page.goto(`${proxy.url}/${pageName}`);
  await page.setInputFiles('#file', [source.path]);
  return page;
}

async function storedAs(name: string): Promise<CompletedUpload> {
  return until(`${name} completed`, () => completed.find((c) => c.metadata.name === name), 60_000);
}

/** Starts tus-js-client on the picked file; progress and the outcome land on window. */
function startTus(page: Page, endpoint: string, resume: boolean): Promise<void> {
  return page.evaluate(
    async ({ endpoint, resume }) => {
      const w = window as unknown as { tus: typeof import('tus-js-client'); tusState: { offsets: number[]; done?: string; error?: string }; tusUpload?: import('tus-js-client').Upload };
      const file = document.querySelector<HTMLInputElement>('#file')!.files![0]!;
      w.tusState = { offsets: [] };
      const upload = new w.tus.Upload(file, {
        endpoint,
        chunkSize: 1024 * 1024,
        retryDelays: [0, 200, 500, 1000, 2000],
        metadata: { filename: file.name, filetype: file.type },
        onProgress: (sent) => void w.tusState.offsets.push(sent),
        onSuccess: () => void (w.tusState.done = upload.url ?? ''),
        onError: (e) => void (w.tusState.error = String(e)),
      });
      w.tusUpload = upload;
      if (resume) {
        const previous = await upload.findPreviousUploads();
        if (previous.length === 0) throw new Error('findPreviousUploads found nothing');
        upload.resumeFromPreviousUpload(previous[0]!);
      }
      upload.start();
    },
    { endpoint, resume },
  );
}

const tusState = (page: Page) => page.evaluate(() => (window as unknown as { tusState: { offsets: number[]; done?: string; error?: string } }).tusState);

/** Waits for tus-js-client's onSuccess in the page; its onError fails the test with the reason. */
function tusDone(page: Page, what: string): Promise<{ offsets: number[]; done?: string }> {
  return until(what, async () => {
    const s = await tusState(page);
    if (s.error) throw new Error(s.error);
    return s.done ? s : undefined;
  }, 60_000);
}

describe('tus-js-client in Chromium → our server', () => {
  it('uploads through connections cut mid-PATCH, byte-identical, with its metadata', async () => {
    const source = await makeSource(dir, 'tus-cut.bin', 6 * MiB);
    const base = proxy.stats().clientToServerBytes;
    proxy.cutAt([base + 1.5 * MiB, base + 4 * MiB]);
    const page = await picked('tus.html', source);
    await startTus(page, `${proxy.url}/files/`, false);
    const state = await tusDone(page, 'tus-js-client done');
    expect(state.done).toMatch(/\/files\/[A-Za-z0-9_-]{24}$/);
    expect(proxy.stats().cuts).toBeGreaterThanOrEqual(2);
    const done = await storedAs('tus-cut.bin');
    expect(sha256(await readFile(done.path))).toBe(sha256(await readFile(source.path)));
    await page.close();
  });

  it('resumes after a page reload through findPreviousUploads (the URL kept in localStorage), not from zero', async () => {
    const source = await makeSource(dir, 'tus-reload.bin', 6 * MiB);
    proxy.setRate(2 * MiB);
    const page = await picked('tus.html', source);
    await startTus(page, `${proxy.url}/files/`, false);
    await until('2 MiB confirmed', async () => Math.max(0, ...(await tusState(page)).offsets) >= 2 * MiB, 60_000);
    await page.reload();
    proxy.setRate(undefined);
    await page.setInputFiles('#file', [source.path]);
    await startTus(page, `${proxy.url}/files/`, true);
    const state = await tusDone(page, 'done after the reload');
    expect(Math.min(...state.offsets)).toBeGreaterThan(MiB);
    const done = await storedAs('tus-reload.bin');
    expect(sha256(await readFile(done.path))).toBe(source.sha256);
    await page.close();
  });
});

describe('Uppy with @uppy/tus in Chromium → our server', () => {
  it('uploads the picked file, byte-identical, its name and type kept', async () => {
    const source = await makeSource(dir, 'uppy.bin', 3 * MiB);
    const { clientToServerBytes: base, cuts } = proxy.stats();
    proxy.cutAt([base + 1.2 * MiB]);
    const page = await picked('uppy.html', source);
    const result = await page.evaluate((endpoint) => (window as unknown as { uploadWithUppy(e: string): Promise<{ successful: number; failed: string[]; url?: string }> }).uploadWithUppy(endpoint), `${proxy.url}/files/`);
    expect(result.failed).toEqual([]);
    expect(result.successful).toBe(1);
    expect(proxy.stats().cuts - cuts).toBe(1);
    const done = await storedAs('uppy.bin');
    expect(done.metadata.fields).toMatchObject({ filename: 'uppy.bin', name: 'uppy.bin' });
    expect(sha256(await readFile(done.path))).toBe(source.sha256);
    await page.close();
  });
});
