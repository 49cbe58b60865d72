// The stored copy of a file, as the upload loop reads it: a Blob kept in IndexedDB, or the
// chunks of the ArrayBuffer fallback. Either way only the slice being sent is read.
import { UploadError } from '../src/protocol/index.js';

export interface StoredFile {
  readonly size: number;
  /** Bytes [start, end) as a Blob. Rejects when the stored copy cannot be read. */
  slice(start: number, end: number): Promise<Blob>;
}

/**
 * A file stored as one Blob: slicing is free, the browser streams it from disk. The whole file
 * is the Blob itself, not a slice of it: Chromium sends a `File` straight from its path on disk,
 * where any other Blob streams through the browser process (measured, 20 × 16 MiB by page XHR,
 * 3 at a time: 0.05 s of browser-process CPU for the picked Files, 0.9 s for whole-file slices
 * of them, 0.55 s for the copies read back from IndexedDB).
 */
export function blobFile(blob: Blob): StoredFile {
  return { size: blob.size, slice: async (start, end) => (start === 0 && end >= blob.size ? blob : blob.slice(start, end)) };
}

/**
 * The stored copy, except that a request for the whole file gets `whole`: the same bytes as the
 * page picked them, which Chromium sends straight from disk where the stored copy streams through
 * the browser process (see `blobFile`). The copy is read from the store only when a part of the
 * file is first asked for: a read of it waits behind any store of another file in flight. With
 * the whole-file digest on, a whole-file request goes before its digest is known only where the
 * request is streamed (the digest follows in a body-less one); otherwise the completing request
 * holds back its last MiB till then, so a file over 1 MiB gets none. Rejects with `STORAGE` when
 * a part is asked for and the copy is gone.
 */
export function wholeFrom(whole: Blob, copy: () => Promise<StoredFile | undefined>): StoredFile {
  let reading: Promise<StoredFile> | undefined;
  return {
    size: whole.size,
    slice: async (start, end) => {
      if (start === 0 && end >= whole.size) return whole;
      reading ??= copy().then((stored) => {
        if (stored === undefined) throw new UploadError('STORAGE', 'The stored copy of the file is gone');
        return stored;
      });
      return (await reading).slice(start, end);
    },
  };
}

/** Which chunks of `chunkBytes` hold bytes [start, end), and where the range starts in the first. */
export function chunkSpan(start: number, end: number, chunkBytes: number): { first: number; last: number; skip: number } {
  const first = Math.floor(start / chunkBytes);
  const last = end > start ? Math.floor((end - 1) / chunkBytes) : first;
  return { first, last, skip: start - first * chunkBytes };
}

/** Bytes [start, end) out of the chunks `first..last` (as `chunkSpan` gave them), without copying. */
export function sliceOfChunks(chunks: readonly ArrayBuffer[], skip: number, length: number): Blob {
  const parts: Uint8Array<ArrayBuffer>[] = [];
  let offset = skip;
  let left = length;
  for (const chunk of chunks) {
    if (left <= 0) break;
    const take = Math.min(left, chunk.byteLength - offset);
    if (take > 0) parts.push(new Uint8Array(chunk, offset, take));
    left -= Math.max(0, take);
    offset = 0;
  }
  if (left > 0) throw new Error(`the stored chunks end ${left} bytes early`);
  return new Blob(parts);
}
