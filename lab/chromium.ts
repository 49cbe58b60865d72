// Debian's headless Chromium through playwright-core (nothing downloads a browser of its own).
// A missing browser is a failure that names the install command, never a skip.
import { existsSync } from 'node:fs';
import { chromium, type Browser } from 'playwright-core';

export const CHROMIUM_FLAGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

export function chromiumPath(): string {
  const path = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
  if (!existsSync(path)) {
    throw new Error(
      `The browser tests need Chromium at ${path}. Install it with: sudo apt-get update && sudo apt-get install -y chromium ` +
        `(or point CHROMIUM_PATH at a Chromium binary).`,
    );
  }
  return path;
}

/** One browser; each test takes its own context (its own storage, service workers and IndexedDB). */
export function launchChromium(): Promise<Browser> {
  return chromium.launch({ executablePath: chromiumPath(), headless: true, args: CHROMIUM_FLAGS });
}
