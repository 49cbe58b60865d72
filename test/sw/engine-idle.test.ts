// whenIdle must not resolve while a retry is falling due, whatever the clock does between reads.
import { describe, expect, it } from 'vitest';
import { H_UPLOAD_COMPLETE, H_UPLOAD_OFFSET } from '../../src/protocol/index.js';
import type { Clock } from '../../sw/clock.js';
import { UploadEngine } from '../../sw/engine.js';
import { MemoryUploadStore } from '../../sw/memory-store.js';
import type { UploadRecord } from '../../sw/record.js';

describe('engine.whenIdle and a retry falling due', () => {
  // A clock that ticks 1 ms at every read, so some read pair straddles the retry time.
  it.each([1, 2, 3, 4, 5, 6])('retry due %i ticks after start: it runs before whenIdle resolves', async (offset) => {
    let t = 1_000;
    const clock: Clock = { now: () => t++, setTimeout: (fn) => setTimeout(fn, 0), clearTimeout: (h) => clearTimeout(h as ReturnType<typeof setTimeout>) };
    const store = new MemoryUploadStore();
    const record: UploadRecord = {
      id: 'u', fileId: 'f', endpoint: 'http://127.0.0.1:9', headers: {}, metadata: {}, name: 'f.bin', type: '', size: 3,
      lastModified: 1, state: 'waiting', offset: 0, attempts: 1, retryAt: t + offset, createdAt: 1, updatedAt: 1,
    };
    await store.add(record, new Blob(['abc']));
    // The server already has the whole file: the run is one status request.
    const fetch = async (): Promise<Response> => new Response('3', { headers: { [H_UPLOAD_OFFSET]: '3', [H_UPLOAD_COMPLETE]: '?1' } });
    const engine = new UploadEngine({ store, fetch, clock, random: () => 0.5, notify: () => undefined, defaultEndpoint: 'http://127.0.0.1:9', idleGraceMs: 1_000 });
    await engine.start();
    await engine.whenIdle();
    expect(engine.views()[0]?.state).toBe('done');
  });
});
