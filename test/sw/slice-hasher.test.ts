import { describe, expect, it } from 'vitest';
import { SliceHasher } from '../../sw/slice-hasher.js';
import { sha256Base64 } from '../../src/protocol/wire.js';
import { UploadError } from '../../src/protocol/errors.js';

describe.each([
  { reader: 'BYOB reads', byob: true },
  { reader: 'default reader copies (WebKit has no BYOB reader)', byob: false },
])('SliceHasher (one reusable buffer, $reader)', ({ byob }) => {
  it('matches a one-shot digest for slices of every size, reusing and growing its buffer', async () => {
    const hasher = new SliceHasher({ byob });
    for (const size of [5_000_003, 0, 1, 65_536, 2_000_000, 7_000_000]) {
      const data = new Uint8Array(size).map((_, i) => (i * 31 + (i >> 9) + size) & 255);
      expect(await hasher.sha256(new Blob([data]))).toBe(await sha256Base64(data));
    }
  });

  it('hashes exactly the slice it is given', async () => {
    const data = new Uint8Array(1_000_000).map((_, i) => i & 255);
    const blob = new Blob([data]);
    expect(await new SliceHasher({ byob }).sha256(blob.slice(123, 456_789))).toBe(await sha256Base64(data.subarray(123, 456_789)));
  });

  it('reports an unreadable Blob as a typed STORAGE error', async () => {
    const broken = {
      size: 10,
      stream: () => new ReadableStream({ type: 'bytes', pull: (c) => c.error(new Error('gone')) }),
    } as unknown as Blob;
    const error = await new SliceHasher({ byob }).sha256(broken).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(UploadError);
    expect((error as UploadError).code).toBe('STORAGE');
  });

  it('hashes a Blob without stream() (read whole)', async () => {
    const data = new Uint8Array(300_000).map((_, i) => (i * 3) & 255);
    const real = new Blob([data]);
    const old = { size: real.size, arrayBuffer: () => real.arrayBuffer() } as unknown as Blob;
    expect(await new SliceHasher({ byob }).sha256(old)).toBe(await sha256Base64(data));
  });

  it('refuses to hash two slices at once with one buffer', async () => {
    const hasher = new SliceHasher({ byob });
    const blob = new Blob([new Uint8Array(3_000_000)]);
    const first = hasher.sha256(blob);
    await expect(hasher.sha256(blob)).rejects.toMatchObject({ code: 'INTERNAL' });
    await first;
  });
});
