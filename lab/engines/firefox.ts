// Debian's Firefox ESR through puppeteer-core over WebDriver BiDi (no geckodriver), on a profile folder.
import { existsSync } from 'node:fs';
import { launch, type Browser, type Page } from 'puppeteer-core';
import { ConsoleLog, scriptOf, type BrowserSession, type Engine, type LaunchOptions, type Tab } from './types.js';

const INSTALL = 'sudo apt-get update && sudo apt-get install -y firefox-esr';

export function firefoxPath(): string {
  const path = process.env.FIREFOX_PATH ?? '/usr/bin/firefox-esr';
  if (!existsSync(path)) {
    throw new Error(`The browser tests need Firefox ESR at ${path}. Install it with: ${INSTALL} (or point FIREFOX_PATH at a Firefox binary).`);
  }
  return path;
}

/** Preferences for a quiet, self-contained test profile. */
function prefs(options: LaunchOptions): Record<string, unknown> {
  const quota = options.storageQuotaBytes;
  return {
    'browser.shell.checkDefaultBrowser': false,
    'datareporting.policy.dataSubmissionEnabled': false,
    'app.update.enabled': false,
    // Firefox's global storage limit in KiB; one origin group may use all of it when it is this small.
    ...(quota === undefined ? {} : { 'dom.quotaManager.temporaryStorage.fixedLimit': Math.floor(quota / 1024) }),
  };
}

export const firefoxEngine: Engine = {
  name: 'firefox',
  missing: {
    networkEmulation: "BiDi's offline switch (network conditions) takes the page offline but not the service worker's fetches",
  },
  assertInstalled: () => void firefoxPath(),
  async launch(profileDir, options = {}) {
    const browser = await launch({
      browser: 'firefox',
      executablePath: firefoxPath(),
      headless: true,
      userDataDir: profileDir,
      // Lets the harness evaluate in the browser's own (chrome) scope, where devtools stops workers.
      args: ['--remote-allow-system-access'],
      extraPrefsFirefox: prefs(options),
    });
    return new FirefoxSession(browser, await browser.version());
  },
};

/** What the harness sends over the BiDi connection that puppeteer's types do not describe. */
interface RawBidi {
  send(method: string, params: object): Promise<{ result: unknown }>;
}

class FirefoxSession implements BrowserSession {
  readonly engine = 'firefox';
  readonly version: string;
  readonly #browser: Browser;
  readonly #console = new ConsoleLog();

  constructor(browser: Browser, version: string) {
    this.#browser = browser;
    this.version = version.replace('firefox/', 'Firefox ');
  }

  async open(url: string): Promise<Tab> {
    const page = await this.#browser.newPage();
    // Pages only: Firefox logs its own noise (RemoteAgent, BackupService…) elsewhere.
    page.on('console', (m) => this.#console.add(`page ${m.type()}: ${m.text()}`));
    await page.goto(url);
    return new FirefoxTab(page);
  }

  async stopServiceWorkers(): Promise<void> {
    // What about:debugging's "Stop" does: terminate each registration's active worker.
    const bidi = (this.#browser as unknown as { connection: RawBidi }).connection;
    const tree = (await bidi.send('browsingContext.getTree', { 'moz:scope': 'chrome' })).result as { contexts: { context: string }[] };
    const chrome = tree.contexts[0]?.context;
    if (chrome === undefined) throw new Error('Firefox showed no chrome window to stop the worker from');
    const expression = `(() => {
      const manager = Cc['@mozilla.org/serviceworkers/manager;1'].getService(Ci.nsIServiceWorkerManager);
      const registrations = manager.getAllRegistrations();
      let stopped = 0;
      for (let i = 0; i < registrations.length; i++) {
        const worker = registrations.queryElementAt(i, Ci.nsIServiceWorkerRegistrationInfo).activeWorker;
        if (worker) { worker.terminateWorker(); stopped++; }
      }
      return stopped;
    })()`;
    const reply = (await bidi.send('script.evaluate', { expression, target: { context: chrome }, awaitPromise: false })).result as {
      type: string;
      exceptionDetails?: { text: string };
    };
    if (reply.type !== 'success') throw new Error(`Firefox could not stop its service workers: ${reply.exceptionDetails?.text ?? 'unknown'}`);
  }

  setOffline(): Promise<void> {
    throw new Error(`Firefox: ${firefoxEngine.missing.networkEmulation}`);
  }

  consoleLines(): readonly string[] {
    return this.#console.lines();
  }

  close(): Promise<void> {
    return this.#browser.close();
  }
}

class FirefoxTab implements Tab {
  readonly #page: Page;

  constructor(page: Page) {
    this.#page = page;
  }

  evaluate<A, R>(fn: (arg: A) => R | Promise<R>, arg: A): Promise<R> {
    return this.#page.evaluate(scriptOf(fn, arg)) as Promise<R>;
  }

  async pick(selector: string, paths: readonly string[]): Promise<void> {
    const input = await this.#page.$(selector);
    if (!input) throw new Error(`no ${selector} to pick files with`);
    await (input as unknown as { uploadFile(...paths: string[]): Promise<void> }).uploadFile(...paths);
  }

  click(selector: string): Promise<void> {
    return this.#page.click(selector);
  }

  async reload(): Promise<void> {
    await this.#page.reload();
  }

  async screenshot(): Promise<Buffer> {
    return Buffer.from(await this.#page.screenshot());
  }

  close(): Promise<void> {
    return this.#page.close();
  }
}
