// resilient-upload-sw.js?… settings, as a table.
import { describe, expect, it } from 'vitest';
import { WORKER_QUERY_KEYS, type WorkerQueryKey } from '../../src/protocol/worker-settings.js';
import { optionsFromQuery } from '../../sw/query-options.js';

describe('optionsFromQuery', () => {
  it.each([
    ['', {}],
    ['protocol=tus&endpoint=https://tus.example/files/', { protocol: 'tus', endpoint: 'https://tus.example/files/' }],
    ['protocol=ietf', { protocol: 'ietf' }],
    ['protocol=status-slice&digest=0&concurrency=2', { protocol: 'status-slice', digest: false, concurrency: 2 }],
    ['timeoutBaseMs=3000&files=chunks&credentials=include', { timeouts: { baseMs: 3000 }, files: 'chunks', credentials: 'include' }],
  ])('%s', (query, want) => {
    expect(optionsFromQuery(new URLSearchParams(query))).toEqual(want);
  });

  it.each([['protocol=ftp'], ['concurrency=0'], ['files=disk']])('%s is refused with INVALID_ARGUMENT', (query) => {
    expect(() => optionsFromQuery(new URLSearchParams(query))).toThrow(expect.objectContaining({ code: 'INVALID_ARGUMENT' }));
  });

  it('reads every key of the list pages pass on (WORKER_QUERY_KEYS), and no other', () => {
    const valid: Record<WorkerQueryKey, string> = {
      endpoint: 'https://up.example',
      protocol: 'tus',
      concurrency: '2',
      digest: '0',
      integrity: 'chunks',
      timeoutBaseMs: '3000',
      timeoutMinBytesPerSecond: '1000',
      files: 'chunks',
      credentials: 'include',
    };
    for (const key of WORKER_QUERY_KEYS) expect(optionsFromQuery(new URLSearchParams({ [key]: valid[key] })), key).not.toEqual({});
    expect(optionsFromQuery(new URLSearchParams({ assist: '0', other: 'x' }))).toEqual({});
  });
});
