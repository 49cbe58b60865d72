// The streaming write loop of the disk store: batches socket chunks into ~1 MiB writev calls
// and keeps one write in flight while the next batch is read, so disk and network overlap
// and memory stays bounded whatever the body size.
import { createHash } from 'node:crypto';
import type { FileHandle } from 'node:fs/promises';
import type { WriteProgress } from './file-checkpoints.js';

/** Writes every byte of `buffers` at `position`; a seam for tests that simulate a full disk. */
export type WriteChunks = (fh: FileHandle, buffers: Buffer[], position: number) => Promise<void>;

export const writeAll: WriteChunks = async (fh, buffers, position) => {
  let bufs = buffers;
  let pos = position;
  while (bufs.length > 0) {
    const { bytesWritten } = await fh.writev(bufs, pos);
    pos += bytesWritten;
    bufs = dropBytes(bufs, bytesWritten);
  }
};

function dropBytes(bufs: Buffer[], n: number): Buffer[] {
  let rest = n;
  const out: Buffer[] = [];
  for (const b of bufs) {
    if (rest >= b.length) {
      rest -= b.length;
      continue;
    }
    out.push(rest > 0 ? b.subarray(rest) : b);
    rest = 0;
  }
  return out;
}

export interface WriteOutcome {
  /** Bytes handed to successful writes. */
  readonly written: number;
  /** The body had more than maxBytes; reading stopped at the limit. */
  readonly overflow: boolean;
  /** The body failed (client gone, timeout, takeover). */
  readonly bodyError: unknown;
  /** A write failed (e.g. ENOSPC); the file length tells what landed. */
  readonly writeError: unknown;
  readonly sha256: Uint8Array | undefined;
}

const BATCH_BYTES = 1 << 20;

/**
 * Never throws: every failure is reported in the outcome so the caller can fsync or roll back.
 * `progress` is told what landed, on every write and every chunk read (its clock may have moved),
 * and may stop the loop; it is closed before this resolves.
 */
export async function writeBody(
  fh: FileHandle,
  body: AsyncIterable<Uint8Array>,
  options: { position: number; maxBytes: number; hash: boolean; writeChunks: WriteChunks; progress?: WriteProgress | undefined },
): Promise<WriteOutcome> {
  const progress = options.progress;
  const hasher = options.hash ? createHash('sha256') : undefined;
  let submitted = 0;
  let accepted = 0;
  let batch: Buffer[] = [];
  let batchBytes = 0;
  let inflight: Promise<void> | undefined;
  let overflow = false;
  let bodyError: unknown;
  let writeError: unknown;

  const settle = async (): Promise<void> => {
    if (!inflight) return;
    const p = inflight;
    inflight = undefined;
    try {
      await p;
    } catch (err) {
      writeError ??= err;
    }
  };
  const submit = async (): Promise<void> => {
    await settle();
    if (writeError !== undefined || progress?.stopped || batchBytes === 0) return;
    const bufs = batch;
    const pos = options.position + submitted;
    const n = batchBytes;
    batch = [];
    batchBytes = 0;
    inflight = options.writeChunks(fh, bufs, pos).then(() => {
      submitted += n;
      progress?.written(submitted);
    });
    // Observed by settle(); this only keeps an early failure from being reported as unhandled.
    inflight.catch(() => undefined);
  };

  try {
    for await (const chunk of body) {
      progress?.written(submitted);
      if (progress?.stopped) break;
      let buf = Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
      const room = options.maxBytes - accepted;
      if (buf.length > room) {
        buf = buf.subarray(0, Math.max(0, room));
        overflow = true;
      }
      if (buf.length > 0) {
        hasher?.update(buf);
        accepted += buf.length;
        batch.push(buf);
        batchBytes += buf.length;
      }
      if (overflow) break;
      if (batchBytes >= BATCH_BYTES) {
        await submit();
        if (writeError !== undefined) break;
      }
    }
  } catch (err) {
    bodyError = err;
  }
  // The caller's fsync follows at once: no checkpoint for the last bytes.
  const closing = progress?.close();
  await submit();
  await settle();
  await closing;
  return {
    written: submitted,
    overflow,
    bodyError,
    writeError,
    sha256: hasher ? new Uint8Array(hasher.digest()) : undefined,
  };
}
