// The stored copy of a file, as the upload loop reads it: a Blob kept in IndexedDB, or the
// chunks of the ArrayBuffer fallback. Either way only the slice being sent is read.

export interface StoredFile {
  readonly size: number;
  /** Bytes [start, end) as a Blob. Rejects when the stored copy cannot be read. */
  slice(start: number, end: number): Promise<Blob>;
}

/** A file stored as one Blob: slicing is free, the browser streams it from disk. */
export function blobFile(blob: Blob): StoredFile {
  return { size: blob.size, slice: async (start, end) => blob.slice(start, end) };
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
