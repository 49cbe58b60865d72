// WebKitGTK through WebKitWebDriver and selenium-webdriver, under Xvfb. The browser is our own
// persistent-profile one (webkit-browser.py): MiniBrowser's automation profile is ephemeral, where
// IndexedDB cannot store Blobs and nothing survives a relaunch.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { Capabilities, WebDriver, By } from 'selenium-webdriver';
import { Executor, HttpClient } from 'selenium-webdriver/http/index.js';
import { freePort } from '../processes.js';
import { ConsoleLog, scriptOf, type BrowserSession, type Engine, type LaunchOptions, type Tab } from './types.js';

const INSTALL = 'sudo apt-get update && sudo apt-get install -y webkit2gtk-driver xvfb python3-gi gir1.2-webkit2-4.1';
const PYTHON = '/usr/bin/python3';
const BROWSER = join(import.meta.dirname, 'webkit-browser.py');
const DRIVER = process.env.WEBKIT_WEBDRIVER_PATH ?? '/usr/bin/WebKitWebDriver';

let checked = false;
function assertInstalled(): void {
  if (checked) return;
  const missing = [DRIVER, '/usr/bin/Xvfb', PYTHON].filter((path) => !existsSync(path));
  const gi = missing.length > 0 ? undefined : spawnSync(PYTHON, ['-c', "import gi; gi.require_version('WebKit2', '4.1'); from gi.repository import WebKit2"]);
  if (missing.length > 0 || gi?.status !== 0) {
    const why = missing.length > 0 ? `${missing.join(', ')} missing` : `python3 cannot load WebKit2 4.1: ${gi?.stderr.toString().trim()}`;
    throw new Error(`The WebKit browser tests need WebKitWebDriver, Xvfb and WebKitGTK for Python (${why}). Install them with: ${INSTALL}`);
  }
  checked = true;
}

export const webkitEngine: Engine = {
  name: 'webkit',
  missing: {
    stopWorker: 'WebKitGTK has no API or WebDriver command that stops a service worker (its worker lives in a web process it shares with pages)',
    networkEmulation: 'WebKitWebDriver has no offline or network-conditions command',
    storageQuota:
      'WebKitGTK 2.50 has no navigator.storage, and its per-origin quota (origin-storage-ratio of the profile volume, set to 8 MiB) did not stop a 24 MiB Blob going into IndexedDB',
  },
  assertInstalled,
  async launch(profileDir, options = {}) {
    assertInstalled();
    const group = new ProcessGroup();
    try {
      const display = await group.startXvfb();
      const port = await freePort();
      const console = new ConsoleLog();
      group.start(DRIVER, [`--port=${port}`], { DISPLAY: `:${display}` }, (line) => {
        // Our browser writes the pages' console to stdout (WebKit's write-console-messages-to-stdout).
        if (line.includes('CONSOLE') || line.includes('webkit-browser')) console.add(line);
      });
      const driver = await createSession(`http://127.0.0.1:${port}`, profileDir, options);
      const version = `WebKitGTK ${String((await driver.getCapabilities()).get('browserVersion'))}`;
      return new WebKitSession(driver, group, console, version);
    } catch (error) {
      await group.stop();
      throw error;
    }
  },
};

interface CreateSession {
  createSession(executor: Executor, capabilities: Capabilities): Promise<WebDriver>;
}

async function createSession(url: string, profileDir: string, options: LaunchOptions): Promise<WebDriver> {
  if (options.storageQuotaBytes !== undefined) throw new Error(`WebKit: ${webkitEngine.missing.storageQuota}`);
  const capabilities = new Capabilities({ 'webkitgtk:browserOptions': { binary: PYTHON, args: [BROWSER, '--profile', profileDir] } });
  const deadline = Date.now() + 20_000;
  for (;;) {
    try {
      // selenium's Builder insists on a browser name; WebKitWebDriver matches none (our browser names itself).
      const driver = await (WebDriver as unknown as CreateSession).createSession(new Executor(new HttpClient(url)), capabilities);
      await driver.manage().setTimeouts({ script: 180_000, pageLoad: 60_000 });
      return driver;
    } catch (error) {
      // The driver may not listen yet.
      if (Date.now() > deadline || !/ECONNREFUSED/.test(String(error))) throw error;
      await new Promise((r) => setTimeout(r, 100));
    }
  }
}

/** Xvfb, WebKitWebDriver and what it starts, each in its own process group, ended together. */
class ProcessGroup {
  readonly #children: ChildProcess[] = [];

  async startXvfb(): Promise<string> {
    // -displayfd: Xvfb picks a free display and writes its number to fd 3 once it accepts clients.
    const xvfb = spawn('/usr/bin/Xvfb', ['-displayfd', '3', '-screen', '0', '1280x800x24', '-nolisten', 'tcp'], {
      detached: true,
      stdio: ['ignore', 'ignore', 'ignore', 'pipe'],
    });
    this.#children.push(xvfb);
    const fd = xvfb.stdio[3] as NodeJS.ReadableStream;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('Xvfb did not start in 20 s')), 20_000);
      fd.once('data', (data: Buffer) => {
        clearTimeout(timer);
        resolve(data.toString().trim());
      });
      xvfb.once('exit', (code) => reject(new Error(`Xvfb exited (${code})`)));
    });
  }

  start(command: string, args: string[], env: Record<string, string>, onLine: (line: string) => void): void {
    const child = spawn(command, args, { detached: true, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    this.#children.push(child);
    let rest = '';
    const feed = (data: Buffer): void => {
      const lines = (rest + data.toString()).split('\n');
      rest = lines.pop() ?? '';
      for (const line of lines) onLine(line);
    };
    child.stdout?.on('data', feed);
    child.stderr?.on('data', feed);
  }

  /** Kills every group (the browser and its web processes with the driver) and waits until all are gone. */
  async stop(): Promise<void> {
    for (const child of this.#children.reverse()) {
      if (child.pid === undefined) continue;
      const group = -child.pid;
      try {
        process.kill(group, 'SIGKILL');
      } catch {
        continue; // already gone
      }
      const deadline = Date.now() + 10_000;
      while (Date.now() < deadline && alive(group)) await new Promise((r) => setTimeout(r, 50));
    }
    this.#children.length = 0;
  }
}

function alive(group: number): boolean {
  try {
    process.kill(group, 0);
    return true;
  } catch {
    return false;
  }
}

class WebKitSession implements BrowserSession {
  readonly engine = 'webkit';
  readonly version: string;
  readonly #driver: WebDriver;
  readonly #group: ProcessGroup;
  readonly #console: ConsoleLog;
  readonly #anchor: Promise<string>;
  /** WebDriver has one current window: every command runs switched to its tab, one at a time. */
  #queue: Promise<unknown> = Promise.resolve();

  constructor(driver: WebDriver, group: ProcessGroup, console: ConsoleLog, version: string) {
    this.#driver = driver;
    this.#group = group;
    this.#console = console;
    this.version = version;
    this.#anchor = driver.getWindowHandle();
  }

  /** Runs `work` with `handle` as the current window. */
  inWindow<T>(handle: string | undefined, work: (driver: WebDriver) => Promise<T>): Promise<T> {
    const run = this.#queue.then(async () => {
      if (handle !== undefined) await this.#driver.switchTo().window(handle);
      return work(this.#driver);
    });
    this.#queue = run.catch(() => undefined);
    return run;
  }

  async open(url: string): Promise<Tab> {
    const handle = await this.inWindow(undefined, async (driver) => {
      await driver.switchTo().newWindow('tab');
      await driver.get(url);
      return driver.getWindowHandle();
    });
    return new WebKitTab(this, handle, this.#anchor);
  }

  stopServiceWorkers(): Promise<void> {
    return Promise.reject(new Error(`WebKit: ${webkitEngine.missing.stopWorker}`));
  }

  setOffline(): Promise<void> {
    return Promise.reject(new Error(`WebKit: ${webkitEngine.missing.networkEmulation}`));
  }

  consoleLines(): readonly string[] {
    return this.#console.lines();
  }

  async close(): Promise<void> {
    // Ending the session makes WebKitWebDriver end the browser; the group kill catches what is left.
    await this.#driver.quit().catch(() => undefined);
    await this.#group.stop();
  }
}

class WebKitTab implements Tab {
  readonly #session: WebKitSession;
  readonly #handle: string;
  readonly #anchor: Promise<string>;

  constructor(session: WebKitSession, handle: string, anchor: Promise<string>) {
    this.#session = session;
    this.#handle = handle;
    this.#anchor = anchor;
  }

  async evaluate<A, R>(fn: (arg: A) => R | Promise<R>, arg: A): Promise<R> {
    const script = `const done = arguments[arguments.length - 1];
      Promise.resolve().then(() => ${scriptOf(fn, arg)}).then(
        (value) => done({ value }),
        (error) => done({ error: String(error && error.stack ? error.name + ': ' + error.message : error) }));`;
    const reply = await this.#session.inWindow(this.#handle, (d) => d.executeAsyncScript<{ value?: R; error?: string }>(script));
    if (reply.error !== undefined) throw new Error(`in the page: ${reply.error}`);
    return reply.value as R;
  }

  async pick(selector: string, paths: readonly string[]): Promise<void> {
    await this.#session.inWindow(this.#handle, (d) => d.findElement(By.css(selector)).sendKeys(paths.join('\n')));
  }

  async click(selector: string): Promise<void> {
    await this.#session.inWindow(this.#handle, (d) => d.findElement(By.css(selector)).click());
  }

  async reload(): Promise<void> {
    await this.#session.inWindow(this.#handle, (d) => d.navigate().refresh());
  }

  async screenshot(): Promise<Buffer> {
    return Buffer.from(await this.#session.inWindow(this.#handle, (d) => d.takeScreenshot()), 'base64');
  }

  async close(): Promise<void> {
    const anchor = await this.#anchor;
    await this.#session.inWindow(this.#handle, async (d) => {
      await d.close();
      await d.switchTo().window(anchor);
    });
  }
}
