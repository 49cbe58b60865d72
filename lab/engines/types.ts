// One small interface over the three browser drivers, so each fault case is written once.
// Chromium: playwright-core. Firefox ESR: puppeteer-core over WebDriver BiDi. WebKitGTK:
// WebKitWebDriver + selenium-webdriver under Xvfb, with our persistent-profile browser.

export type EngineName = 'chromium' | 'firefox' | 'webkit';

/** What a case may need beyond "open a page, pick files, read rows, quit and relaunch". */
export type Capability =
  /** Stop the origin's service worker on demand, as the browser does to an idle one. */
  | 'stopWorker'
  /** Devtools-style offline that reaches the page and the service worker alike. */
  | 'networkEmulation'
  /** A storage quota for the page's origin smaller than the disk. */
  | 'storageQuota';

export interface LaunchOptions {
  /** Storage an origin may use, in bytes (needs the `storageQuota` capability). */
  readonly storageQuotaBytes?: number;
}

export interface Engine {
  readonly name: EngineName;
  /** Why the engine cannot do a capability here; absent when it can. */
  readonly missing: Partial<Record<Capability, string>>;
  /** Fails with the exact install command when the browser or its driver is not installed. */
  assertInstalled(): void;
  /** Starts the browser on a persistent profile: launching again on the same folder keeps IndexedDB and workers. */
  launch(profileDir: string, options?: LaunchOptions): Promise<BrowserSession>;
}

export interface BrowserSession {
  readonly engine: EngineName;
  /** Browser name and version as the driver reports them. */
  readonly version: string;
  /** A new tab on `url` (a blank tab the session keeps open means closing this one never ends the browser). */
  open(url: string): Promise<Tab>;
  /** Stops every service worker now; the next event starts a fresh instance. Needs `stopWorker`. */
  stopServiceWorkers(): Promise<void>;
  /** Devtools-style offline for the page and its worker. Needs `networkEmulation`. */
  setOffline(on: boolean): Promise<void>;
  /** Console lines of the pages (and workers where the driver sees them), oldest first. */
  consoleLines(): readonly string[];
  /** Quits the browser (the profile folder stays). */
  close(): Promise<void>;
}

export interface Tab {
  /** Evaluates `fn(arg)` in the page and returns its (awaited, JSON-serialisable) result. */
  evaluate<A, R>(fn: (arg: A) => R | Promise<R>, arg: A): Promise<R>;
  /** Sets the files of an `<input type=file>` as a user picking them would (a `change` event fires). */
  pick(selector: string, paths: readonly string[]): Promise<void>;
  click(selector: string): Promise<void>;
  reload(): Promise<void>;
  /** A PNG of the viewport. */
  screenshot(): Promise<Buffer>;
  close(): Promise<void>;
}

/** The function and its argument as one expression, for drivers that take script text. */
export function scriptOf<A, R>(fn: (arg: A) => R | Promise<R>, arg: A): string {
  // esbuild's keepNames (tsx) wraps named functions in __name(), which the page does not have.
  return `(() => { const __name = (f) => f; return (${fn.toString()})(${JSON.stringify(arg)}); })()`;
}

/** Keeps the last lines of a console, so a failure can show what the page said. */
export class ConsoleLog {
  readonly #lines: string[] = [];
  readonly #max: number;

  constructor(max = 200) {
    this.#max = max;
  }

  add(line: string): void {
    this.#lines.push(line);
    if (this.#lines.length > this.#max) this.#lines.shift();
  }

  lines(): readonly string[] {
    return [...this.#lines];
  }
}
