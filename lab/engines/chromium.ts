// Debian's Chromium through playwright-core, on a persistent context (a profile folder).
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { CHROMIUM_FLAGS, chromiumPath } from '../chromium.js';
import { ConsoleLog, scriptOf, type BrowserSession, type Engine, type LaunchOptions, type Tab } from './types.js';

export const chromiumEngine: Engine = {
  name: 'chromium',
  missing: {},
  assertInstalled: () => void chromiumPath(),
  async launch(profileDir, options = {}) {
    const context = await chromium.launchPersistentContext(profileDir, { executablePath: chromiumPath(), headless: true, args: CHROMIUM_FLAGS });
    return new ChromiumSession(context, options);
  },
};

class ChromiumSession implements BrowserSession {
  readonly engine = 'chromium';
  readonly version: string;
  readonly #context: BrowserContext;
  readonly #options: LaunchOptions;
  readonly #console = new ConsoleLog();

  constructor(context: BrowserContext, options: LaunchOptions) {
    this.#context = context;
    this.#options = options;
    this.version = `Chromium ${context.browser()?.version() ?? ''}`.trim();
    const log = (where: string) => (m: { type(): string; text(): string }) => this.#console.add(`${where} ${m.type()}: ${m.text()}`);
    context.on('page', (page) => page.on('console', log('page')));
    context.on('serviceworker', (worker) => worker.on('console', log('worker')));
  }

  async open(url: string): Promise<Tab> {
    const page = await this.#context.newPage();
    const quota = this.#options.storageQuotaBytes;
    if (quota !== undefined) {
      // The override lasts as long as its devtools session: this one stays with the page.
      const cdp = await this.#context.newCDPSession(page);
      await cdp.send('Storage.overrideQuotaForOrigin', { origin: new URL(url).origin, quotaSize: quota });
    }
    await page.goto(url);
    return new ChromiumTab(page);
  }

  async stopServiceWorkers(): Promise<void> {
    // Playwright keeps devtools attached to the worker, so Chromium would never stop it by itself.
    const page = await this.#context.newPage();
    const cdp = await this.#context.newCDPSession(page);
    await cdp.send('ServiceWorker.enable');
    await cdp.send('ServiceWorker.stopAllWorkers');
    await cdp.detach();
    await page.close();
  }

  setOffline(on: boolean): Promise<void> {
    return this.#context.setOffline(on);
  }

  consoleLines(): readonly string[] {
    return this.#console.lines();
  }

  close(): Promise<void> {
    return this.#context.close();
  }
}

class ChromiumTab implements Tab {
  readonly #page: Page;

  constructor(page: Page) {
    this.#page = page;
  }

  evaluate<A, R>(fn: (arg: A) => R | Promise<R>, arg: A): Promise<R> {
    return this.#page.evaluate(scriptOf(fn, arg)) as Promise<R>;
  }

  pick(selector: string, paths: readonly string[]): Promise<void> {
    return this.#page.setInputFiles(selector, [...paths]);
  }

  click(selector: string): Promise<void> {
    return this.#page.click(selector);
  }

  async reload(): Promise<void> {
    await this.#page.reload();
  }

  async screenshot(): Promise<Buffer> {
    await this.#page.setViewportSize({ width: 900, height: 560 });
    return this.#page.screenshot();
  }

  close(): Promise<void> {
    return this.#page.close();
  }
}
