// The engine's user actions and restarts, against the real server through the proxy.
import { afterEach, describe, expect, it } from 'vitest';
import { H_FILE_ID, H_START_BYTE, UploadError } from '../../src/protocol/index.js';
import { MiB } from '../../sw/chunk-size.js';
import { IdbUploadStore } from '../../sw/idb-store.js';
import { MemoryUploadStore } from '../../sw/memory-store.js';
import { startTestServer } from '../helpers/server.js';
import { TEST_CHUNK, addRequest, completedSha, makeBytes, sha256, startHarness, viewOf, waitFor, type Harness } from './harness.js';

let h: Harness | undefined;
afterEach(async () => {
  await h?.close();
  h = undefined;
});

/** A fetch that holds POSTs once `open` POSTs went through, until released or aborted. */
function gatedFetch(open: number) {
  let posts = 0;
  let release: () => void = () => undefined;
  let gate = new Promise<void>((r) => (release = r));
  const state = {
    blocked: 0,
    fetch: async (input: RequestInfo | URL, init?: RequestInit): Promise<Response> => {
      if (init?.method === 'POST' && ++posts > open) {
        state.blocked++;
        await new Promise<void>((resolve, reject) => {
          void gate.then(resolve);
          init.signal?.addEventListener('abort', () => reject(init.signal?.reason), { once: true });
        });
      }
      return fetch(input, init);
    },
    release: () => {
      release();
      gate = new Promise<void>((r) => (release = r));
      posts = Number.NEGATIVE_INFINITY;
    },
  };
  return state;
}

async function serverOffset(url: string, fileId: string): Promise<number> {
  const res = await fetch(`${url}/status`, { headers: { [H_FILE_ID]: fileId } });
  return Number(await res.text());
}

describe('engine actions', () => {
  it('a 4xx fails with the server reason, is not retried, and retry works once the server allows it', async () => {
    const { mkdtemp, rm } = await import('node:fs/promises');
    const { tmpdir } = await import('node:os');
    const { join } = await import('node:path');
    const uploadDir = await mkdtemp(join(tmpdir(), 'ru-sw-'));
    h = await startHarness(await startTestServer({ uploadDir, maxUploadSize: 1 * MiB, sweepIntervalMs: 0 }));
    const engine = h.engine();
    const bytes = makeBytes(2 * MiB, 11);
    const view = await engine.handle(addRequest(bytes, 'big.bin'));
    await engine.whenIdle();
    const failed = viewOf(engine, view.id);
    expect(failed.state).toBe('failed');
    expect(failed.error).toMatchObject({ code: 'REJECTED', status: 413, serverCode: 'TOO_LARGE' });
    expect(h.events.some((e) => e.type === 'error' && e.upload.id === view.id)).toBe(true);
    const posts = h.posts;
    await new Promise((r) => setTimeout(r, 300)); // many backoff periods
    expect(h.posts).toBe(posts);
    expect(viewOf(engine, view.id).state).toBe('failed');

    // A new server with a higher limit on the same directory and port.
    const port = h.server.port;
    await h.server.close();
    h.server = await startTestServer({ uploadDir, port, maxUploadSize: 10 * MiB, sweepIntervalMs: 0 });
    expect((await engine.handle({ type: 'retry', uploadId: view.id })).attempts).toBe(0);
    await engine.whenIdle();
    expect(viewOf(engine, view.id).state).toBe('done');
    expect(await completedSha(uploadDir, view.fileId)).toBe(sha256(bytes));
    await rm(uploadDir, { recursive: true, force: true });
  });

  it('pause stops sending; resume continues from the server offset', async () => {
    h = await startHarness();
    const gated = gatedFetch(3);
    const engine = h.engine({ fetch: gated.fetch });
    const bytes = makeBytes(2 * MiB, 12);
    const view = await engine.handle(addRequest(bytes, 'pause.bin'));
    await waitFor(() => gated.blocked > 0, 10_000, 'a held POST');
    const paused = await engine.handle({ type: 'pause', uploadId: view.id });
    expect(paused.state).toBe('paused');
    await engine.whenIdle();
    const held = await serverOffset(h.server.url, view.fileId);
    expect(held).toBe(3 * TEST_CHUNK);
    expect(viewOf(engine, view.id)).toMatchObject({ state: 'paused', offset: held });
    await expect(engine.handle({ type: 'pause', uploadId: view.id })).resolves.toMatchObject({ state: 'paused' });
    gated.release();
    const bytesBefore = h.proxy.stats().bodyBytes;
    await engine.handle({ type: 'resume', uploadId: view.id });
    await engine.whenIdle();
    expect(viewOf(engine, view.id).state).toBe('done');
    expect(h.proxy.stats().bodyBytes - bytesBefore).toBe(bytes.length - held);
    expect(await completedSha(h.server.uploadDir, view.fileId)).toBe(sha256(bytes));
  });

  it('cancel aborts, deletes the server partial and the Blob, keeps a cancelled record until cleared', async () => {
    h = await startHarness();
    const gated = gatedFetch(2);
    const engine = h.engine({ fetch: gated.fetch });
    const view = await engine.handle(addRequest(makeBytes(2 * MiB, 13), 'cancel.bin'));
    await waitFor(() => gated.blocked > 0, 10_000, 'a held POST');
    expect(await serverOffset(h.server.url, view.fileId)).toBe(2 * TEST_CHUNK);
    expect((await engine.handle({ type: 'cancel', uploadId: view.id })).state).toBe('cancelled');
    expect(await serverOffset(h.server.url, view.fileId)).toBe(0);
    const store = new IdbUploadStore({ factory: h.factory });
    expect(await store.getBlob(view.id)).toBeUndefined();
    expect((await store.get(view.id))?.state).toBe('cancelled');
    await expect(engine.handle({ type: 'resume', uploadId: view.id })).rejects.toMatchObject({ code: 'INVALID_STATE' });
    expect(await engine.handle({ type: 'clear-completed' })).toBe(1);
    expect(await store.get(view.id)).toBeUndefined();
    expect(h.events.some((e) => e.type === 'removed' && e.uploadId === view.id)).toBe(true);
  });

  it('cancel while the server is unreachable still cancels locally', async () => {
    h = await startHarness();
    const engine = h.engine({ retry: { baseMs: 10_000, maxMs: 10_000 } });
    await h.proxy.setOffline(true);
    const view = await engine.handle(addRequest(makeBytes(1000, 14), 'x.bin'));
    await waitFor(() => viewOf(engine, view.id).state === 'waiting', 10_000, 'waiting');
    expect((await engine.handle({ type: 'cancel', uploadId: view.id })).state).toBe('cancelled');
    expect(await new IdbUploadStore({ factory: h.factory }).getBlob(view.id)).toBeUndefined();
  });

  it('a new engine (worker restart) mid-upload resumes from the server status', async () => {
    h = await startHarness();
    // The first worker "dies": its held POST never settles and it never writes again.
    const gated = gatedFetch(4);
    const first = h.engine({ fetch: gated.fetch });
    const bytes = makeBytes(3 * MiB, 15);
    const view = await first.handle(addRequest(bytes, 'restart.bin'));
    await waitFor(() => gated.blocked > 0, 10_000, 'a held POST');
    const stored = await new IdbUploadStore({ factory: h.factory }).get(view.id);
    expect(stored?.state).toBe('uploading');
    const starts: number[] = [];
    const second = h.engine({
      fetch: (input, init) => {
        const start = (init?.headers as Record<string, string> | undefined)?.[H_START_BYTE];
        if (init?.method === 'POST' && start !== undefined) starts.push(Number(start));
        return fetch(input, init);
      },
    });
    await second.start();
    await second.whenIdle();
    expect(viewOf(second, view.id).state).toBe('done');
    expect(starts[0]).toBe(4 * TEST_CHUNK); // from the server's status, not from 0
    expect(await completedSha(h.server.uploadDir, view.fileId)).toBe(sha256(bytes));
  });

  it('a silently replayed POST gets 409 and the engine re-syncs from it', async () => {
    h = await startHarness();
    let replays = 0;
    const engine = h.engine({
      fetch: async (input, init) => {
        if (init?.method !== 'POST' || replays >= 3) return fetch(input, init);
        // As Chromium does after a cut: the same POST again; the caller sees only the second answer.
        replays++;
        await fetch(input, init);
        return fetch(input, init);
      },
    });
    const bytes = makeBytes(1.5 * MiB, 16);
    const view = await engine.handle(addRequest(bytes, 'replay.bin'));
    await engine.whenIdle();
    expect(replays).toBe(3);
    // A 409 is a re-sync, not a failure: no error, no backoff.
    expect(h.events.filter((e) => e.type === 'error')).toEqual([]);
    expect(viewOf(engine, view.id).state).toBe('done');
    expect(await completedSha(h.server.uploadDir, view.fileId)).toBe(sha256(bytes));
  });

  it('the same file twice is one upload; after cancel it is a new one', async () => {
    h = await startHarness();
    const engine = h.engine({ fetch: gatedFetch(0).fetch });
    const bytes = makeBytes(1000, 17);
    const [a, b] = await Promise.all([engine.handle(addRequest(bytes, 'same.bin')), engine.handle(addRequest(bytes, 'same.bin'))]);
    expect(b.id).toBe(a.id);
    expect(engine.views()).toHaveLength(1);
    await engine.handle({ type: 'cancel', uploadId: a.id });
    const c = await engine.handle(addRequest(bytes, 'same.bin'));
    expect(c.id).not.toBe(a.id);
    await engine.handle({ type: 'cancel', uploadId: c.id });
  });
});

describe('engine storage limits', () => {
  const base = { fetch: () => Promise.reject(new Error('no network in this test')), defaultEndpoint: 'http://127.0.0.1:9' };

  it('rejects add with QUOTA_EXCEEDED when the estimate says it will not fit, storing nothing', async () => {
    h = await startHarness();
    const store = new MemoryUploadStore();
    const engine = h.engine({ ...base, store, estimate: async () => ({ quota: 10 * MiB, usage: 9 * MiB }) });
    const error = await engine.handle(addRequest(makeBytes(512 * 1024, 18), 'q.bin')).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(UploadError);
    expect((error as UploadError).code).toBe('QUOTA_EXCEEDED');
    expect(await store.list()).toEqual([]);
    expect(engine.views()).toEqual([]);
  });

  it('maps the store quota error to QUOTA_EXCEEDED, storing nothing', async () => {
    h = await startHarness();
    const store = new MemoryUploadStore({ quotaBytes: 1000 });
    const engine = h.engine({ ...base, store });
    await expect(engine.handle(addRequest(makeBytes(2000, 19), 'q.bin'))).rejects.toMatchObject({ code: 'QUOTA_EXCEEDED' });
    expect(await store.list()).toEqual([]);
  });

  it('unknown ids and bad arguments are typed errors', async () => {
    h = await startHarness();
    const engine = h.engine(base);
    await expect(engine.handle({ type: 'pause', uploadId: 'nope' })).rejects.toMatchObject({ code: 'NOT_FOUND' });
    const bad = { ...addRequest(makeBytes(1, 1), 'x'), options: { fileId: '' } };
    await expect(engine.handle(bad)).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
  });
});
