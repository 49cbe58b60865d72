// The state of one upload in the bucket and where its objects live. Every key is built from the
// prefix, storageKey() (hex SHA-256 of namespace and id) and the namespace's own hash, never from
// client text:
//   <prefix>partial/<ns>/<key>.json         the manifest (below): the commit point of every write
//   <prefix>partial/<ns>/<key>/tail-<uuid>  the bytes after the last whole piece, until more arrive
//   <prefix>complete/<key>                  the finished file (the multipart upload's target)
//   <prefix>complete/<key>.json             its UploadMetadata
//   <prefix>notify/<key>.json               a completed upload awaiting its onComplete delivery
//   <prefix>leases/<key>                    the writer lease (s3-leases.ts)
// Partial uploads are grouped by namespace so that one listing finds a namespace's usage.
import { createHash } from 'node:crypto';
import { storageKey, type UploadRef } from '../storage.js';

/** Where an upload's objects are: its storage key and its namespace's group. */
export interface UploadPlace {
  readonly key: string;
  readonly group: string;
}

export function namespaceGroup(namespace: string): string {
  return createHash('sha256').update(JSON.stringify(['namespace', namespace])).digest('hex');
}

export function placeOf(ref: UploadRef): UploadPlace {
  return { key: storageKey(ref), group: namespaceGroup(ref.namespace) };
}

/** A part the manifest counts: uploaded under a number reserved in the manifest, with its ETag. */
export interface ManifestPart {
  readonly n: number;
  readonly size: number;
  readonly etag: string;
  /**
   * Hex SHA-256 of each FILE_DIGEST_PIECE of the part (parts are whole pieces, but for the last one
   * that completion makes of the tail): the whole-file digest is checked from these, since S3
   * cannot read the parts of an unfinished upload back.
   */
  readonly pieces?: readonly string[];
}

export interface ManifestTail {
  readonly key: string;
  readonly size: number;
}

/**
 * The manifest is replaced only by conditional writes (If-Match its ETag; If-None-Match: * to
 * create), so every change is made by exactly one writer that saw the previous state. The offset
 * is what it lists: parts whose upload succeeded plus the tail object, so it is durable by
 * construction and the same through every instance.
 */
export interface Manifest {
  readonly state: 'active' | 'completing' | 'cancelled';
  readonly id: string;
  readonly namespace: string;
  readonly size?: number;
  readonly name?: string;
  readonly createdAt: string;
  /** The multipart upload, created with the first part. */
  readonly uploadId?: string;
  readonly parts: readonly ManifestPart[];
  readonly tail?: ManifestTail;
  /**
   * Highest part number handed out. A writer uploads a part only under a number it reserved by a
   * successful manifest write, so no two writers ever upload the same number (UploadPart with a
   * number in use silently replaces that part).
   */
  readonly reserved: number;
  /** Token of the writer that wrote this state: its first write after taking over fences the rest. */
  readonly writer: string;
  /** Set with `completing`, so a completion finished again after a crash stores the same metadata. */
  readonly completedAt?: string;
  /**
   * With `completing`: the tail that became the last part. Its object stays until the completion
   * ends, so the whole-file digest of a retried completion can still be checked (see pieces()).
   */
  readonly lastFromTail?: ManifestTail;
}

export function offsetOf(m: Manifest): number {
  let n = m.tail?.size ?? 0;
  for (const p of m.parts) n += p.size;
  return n;
}

const HEX = '[0-9a-f]{64}';
const MANIFEST = new RegExp(`^partial/(${HEX})/(${HEX})\\.json$`);
const TAIL = new RegExp(`^partial/(${HEX})/(${HEX})/tail-[0-9a-f-]+$`);
const DATA = new RegExp(`^complete/(${HEX})$`);

export class Layout {
  readonly prefix: string;

  constructor(prefix: string) {
    this.prefix = prefix;
  }

  manifest(p: UploadPlace): string {
    return `${this.prefix}partial/${p.group}/${p.key}.json`;
  }

  tail(p: UploadPlace, unique: string): string {
    return `${this.prefix}partial/${p.group}/${p.key}/tail-${unique}`;
  }

  /** Every object of one partial upload other than its manifest. */
  partialObjects(p: UploadPlace): string {
    return `${this.prefix}partial/${p.group}/${p.key}/`;
  }

  /** The manifests (and, one level down, the tails) of one namespace. */
  group(group: string): string {
    return `${this.prefix}partial/${group}/`;
  }

  data(key: string): string {
    return `${this.prefix}complete/${key}`;
  }

  metadata(key: string): string {
    return `${this.prefix}complete/${key}.json`;
  }

  notice(key: string): string {
    return `${this.prefix}notify/${key}.json`;
  }

  lease(key: string): string {
    return `${this.prefix}leases/${key}`;
  }

  /** What an object under partial/ is: a manifest or a tail, and whose. */
  parsePartial(objectKey: string): { kind: 'manifest' | 'tail'; place: UploadPlace } | undefined {
    const rest = this.#relative(objectKey);
    const m = rest === undefined ? undefined : (MANIFEST.exec(rest) ?? TAIL.exec(rest));
    if (!m) return undefined;
    return { kind: rest!.endsWith('.json') ? 'manifest' : 'tail', place: { group: m[1]!, key: m[2]! } };
  }

  /** The storage key of the upload a multipart upload (or finished file) belongs to. */
  keyOfData(objectKey: string): string | undefined {
    const rest = this.#relative(objectKey);
    return rest === undefined ? undefined : DATA.exec(rest)?.[1];
  }

  #relative(objectKey: string): string | undefined {
    return objectKey.startsWith(this.prefix) ? objectKey.slice(this.prefix.length) : undefined;
  }
}
