// Asking the app's headers hook for a request's headers: bounded by the caller's signal and a
// deadline (a hook that never answers must hold neither a pause, a cancel nor the upload), and
// checked as fetch would check them, so a bad value is said with its reason instead of surfacing
// as a network error.
import { UploadError } from '../src/protocol/index.js';
import { checkHeaders } from './admission.js';
import { abortOf, deadline, type Clock } from './clock.js';

/**
 * The hook's headers, without entries whose value is `undefined` (a common way to leave one out);
 * `undefined` when `signal` aborted first. Rejects with TIMEOUT after `ms`, INVALID_ARGUMENT for a
 * value fetch would refuse, or what the hook rejected with.
 */
export async function askHeaders(hook: () => Promise<Readonly<Record<string, string>>>, clock: Clock, ms: number, signal: AbortSignal): Promise<Readonly<Record<string, string>> | undefined> {
  const asking = deadline(clock, ms, signal);
  try {
    const got = await Promise.race([hook(), abortOf(asking.signal)]);
    if (got === undefined) {
      if (!asking.expired) return undefined;
      throw new UploadError('TIMEOUT', `Timed out: the headers hook did not answer within ${Math.round(ms / 1000)} s`);
    }
    const headers = Object.fromEntries(Object.entries(got as Record<string, unknown>).filter(([, value]) => value !== undefined));
    checkHeaders(headers);
    return headers;
  } finally {
    asking.dispose();
  }
}
