// The engines the browser suite runs in: all three unless BROWSER_ENGINES names some (comma-separated).
import { chromiumEngine } from './chromium.js';
import { firefoxEngine } from './firefox.js';
import type { Engine, EngineName } from './types.js';
import { webkitEngine } from './webkit.js';

export type { BrowserSession, Capability, Engine, EngineName, LaunchOptions, Tab } from './types.js';
export { chromiumEngine, firefoxEngine, webkitEngine };

export const ENGINES: readonly Engine[] = [chromiumEngine, firefoxEngine, webkitEngine];

export function selectedEngines(names = process.env.BROWSER_ENGINES): readonly Engine[] {
  if (!names) return ENGINES;
  const wanted = names.split(',').map((n) => n.trim()).filter(Boolean);
  const unknown = wanted.filter((n) => !ENGINES.some((e) => e.name === n));
  if (unknown.length > 0) throw new Error(`BROWSER_ENGINES: unknown engine ${unknown.join(', ')} (known: ${ENGINES.map((e) => e.name).join(', ')})`);
  return ENGINES.filter((e) => wanted.includes(e.name as EngineName));
}
