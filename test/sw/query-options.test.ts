// sw.js?… settings, as a table.
import { describe, expect, it } from 'vitest';
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
});
