// Chromium for the interop tests (Debian's package through playwright-core): these drive
// playwright pages directly (file pickers, tus-js-client and Uppy in the page), so they use the
// browser suite's Chromium binary but not its engine-neutral Tab. Never skips: a missing browser
// fails with the install command.
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { CHROMIUM_FLAGS, chromiumPath } from '../../lab/chromium.js';

/** A persistent profile, so a test can quit the browser and start it again with the same IndexedDB. */
export function launchChromium(profileDir: string): Promise<BrowserContext> {
  return chromium.launchPersistentContext(profileDir, { executablePath: chromiumPath(), headless: true, args: CHROMIUM_FLAGS });
}

export interface Row {
  readonly name: string;
  readonly state: string;
  readonly offset: number;
  readonly error: string;
}

/** The demo's rows, through its DOM contract (`li[data-upload-id]`, `data-state`, `data-offset`, `.name`, `.error`). */
export function demoRows(page: Page): Promise<Row[]> {
  return page.$$eval('li[data-upload-id]', (els) =>
    els.map((el) => {
      const li = el as HTMLLIElement;
      return { name: li.querySelector('.name')?.textContent ?? '', state: li.dataset.state ?? '', offset: Number(li.dataset.offset ?? 0), error: li.querySelector('.error')?.textContent ?? '' };
    }),
  );
}

/** Stops every service worker as the browser does to idle ones; the next event starts a fresh instance. */
export async function stopWorkers(page: Page): Promise<void> {
  const cdp = await page.context().newCDPSession(page);
  await cdp.send('ServiceWorker.enable');
  await cdp.send('ServiceWorker.stopAllWorkers');
  await cdp.detach();
}
