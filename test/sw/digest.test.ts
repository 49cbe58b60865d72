import { describe, expect, it } from 'vitest';
import { blobDigest } from '../../sw/digest.js';
import { contentDigestOf } from '../../src/protocol/wire.js';
import { UploadError } from '../../src/protocol/errors.js';

describe('blobDigest (streamed, incremental SHA-256)', () => {
  it.each([0, 1, 65_536, 5_000_003])('matches a one-shot WebCrypto digest for %i bytes', async (size) => {
    const data = new Uint8Array(size).map((_, i) => (i * 31 + (i >> 9)) & 255);
    expect(await blobDigest(new Blob([data]))).toBe(await contentDigestOf(data));
  });

  it('hashes exactly the slice it is given', async () => {
    const data = new Uint8Array(1_000_000).map((_, i) => i & 255);
    const blob = new Blob([data]);
    expect(await blobDigest(blob.slice(123, 456_789))).toBe(await contentDigestOf(data.subarray(123, 456_789)));
  });

  it('reports an unreadable Blob as a typed STORAGE error', async () => {
    const broken = { stream: () => new ReadableStream({ pull: (c) => c.error(new Error('gone')) }) } as unknown as Blob;
    const error = await blobDigest(broken).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(UploadError);
    expect((error as UploadError).code).toBe('STORAGE');
  });
});
