// AddOptions.headers reach the server on every request (status, upload, DELETE); metadata does not.
import { afterEach, describe, expect, it } from 'vitest';
import { H_FILE_ID } from '../../src/protocol/index.js';
import { UploadServerError, type RequestInfo } from '../../server/index.js';
import { startTestServer } from '../helpers/server.js';
import { addRequest, completedSha, makeBytes, sha256, startHarness, viewOf, waitFor, type Harness } from './harness.js';

let h: Harness | undefined;
afterEach(async () => {
  await h?.close();
  h = undefined;
});

const TOKEN = 'Bearer secret-1';

/** A server that wants `Authorization: Bearer secret-1` and files each caller's uploads under `user-1`. */
async function authorizingHarness(seen: string[]): Promise<Harness> {
  const authorize = (req: RequestInfo): string => {
    seen.push(`${req.method} ${req.path} ${req.headers['authorization'] ?? '-'} ${req.headers['x-album'] ?? '-'}`);
    if (req.headers['authorization'] !== TOKEN) throw new UploadServerError('UNAUTHORIZED');
    return 'user-1';
  };
  return startHarness(await startTestServer({ sweepIntervalMs: 0, authorize }));
}

describe('engine request headers', () => {
  it('sends AddOptions.headers with every status and upload request; metadata stays in the browser', async () => {
    const seen: string[] = [];
    h = await authorizingHarness(seen);
    const engine = h.engine({ chunk: { minBytes: 64 * 1024, maxBytes: 64 * 1024, initialBytes: 64 * 1024, granularity: 1024 } });
    const bytes = makeBytes(200_000, 41);
    const request = { ...addRequest(bytes, 'auth.bin'), options: { headers: { Authorization: TOKEN }, metadata: { album: 'holiday' } } };
    const view = await engine.handle(request);
    await engine.whenIdle();
    expect(viewOf(engine, view.id)).toMatchObject({ state: 'done', metadata: { album: 'holiday' } });
    expect(await completedSha(h.server.uploadDir, view.fileId)).toBe(sha256(bytes));
    expect(seen.length).toBeGreaterThanOrEqual(5); // a status and four slices
    expect(seen.filter((s) => !s.includes(TOKEN))).toEqual([]);
    expect(seen.some((s) => s.startsWith('GET /status'))).toBe(true);
    expect(seen.filter((s) => s.startsWith('POST /upload')).length).toBe(4);
    expect(seen.filter((s) => !s.endsWith(' -'))).toEqual([]); // no metadata header of any kind
  });

  it('without the header the server refuses: failed with 401, not retried', async () => {
    const seen: string[] = [];
    h = await authorizingHarness(seen);
    const engine = h.engine();
    const view = await engine.handle(addRequest(makeBytes(1000, 42), 'anon.bin'));
    await engine.whenIdle();
    expect(viewOf(engine, view.id)).toMatchObject({ state: 'failed', error: { code: 'REJECTED', status: 401 } });
    expect(seen).toHaveLength(1);
  });

  it('cancel sends the headers with its DELETE, so the server drops the partial', async () => {
    const seen: string[] = [];
    h = await authorizingHarness(seen);
    let posts = 0;
    const engine = h.engine({
      fetch: (input, init) => {
        // Hold the third POST until the engine aborts it.
        if (init?.method === 'POST' && ++posts === 3) {
          return new Promise((_resolve, reject) => init.signal?.addEventListener('abort', () => reject(init.signal?.reason), { once: true }));
        }
        return fetch(input, init);
      },
    });
    const request = { ...addRequest(makeBytes(2 * 1024 * 1024, 43), 'cancel.bin'), options: { headers: { Authorization: TOKEN } } };
    const view = await engine.handle(request);
    await waitFor(() => posts >= 3, 10_000, 'a held POST');
    const status = async (): Promise<number> =>
      Number(await (await fetch(`${h!.server.url}/status`, { headers: { [H_FILE_ID]: view.fileId, Authorization: TOKEN } })).text());
    expect(await status()).toBeGreaterThan(0);
    expect((await engine.handle({ type: 'cancel', uploadId: view.id })).state).toBe('cancelled');
    expect(seen.filter((s) => s.startsWith('DELETE /upload'))).toEqual([`DELETE /upload ${TOKEN} -`]);
    expect(await status()).toBe(0);
  });
});
