// The state of one upload in the bucket and where its objects live. Every key is built from the
// prefix and storageKey() (hex SHA-256 of namespace and id), never from client text:
//   <prefix>partial/<key>.json         the manifest (below): the commit point of every write
//   <prefix>partial/<key>/tail-<uuid>  bytes below the part minimum, until more arrive
//   <prefix>complete/<key>             the finished file (the multipart upload's target)
//   <prefix>complete/<key>.json        its UploadMetadata
//   <prefix>leases/<key>               the writer lease (s3-leases.ts)

/** A part the manifest counts: uploaded under a number reserved in the manifest, with its ETag. */
export interface ManifestPart {
  readonly n: number;
  readonly size: number;
  readonly etag: string;
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
}

export function offsetOf(m: Manifest): number {
  let n = m.tail?.size ?? 0;
  for (const p of m.parts) n += p.size;
  return n;
}

export class Layout {
  readonly prefix: string;

  constructor(prefix: string) {
    this.prefix = prefix;
  }

  manifest(key: string): string {
    return `${this.prefix}partial/${key}.json`;
  }

  tail(key: string, unique: string): string {
    return `${this.prefix}partial/${key}/tail-${unique}`;
  }

  /** Every object of one partial upload other than its manifest. */
  partialObjects(key: string): string {
    return `${this.prefix}partial/${key}/`;
  }

  data(key: string): string {
    return `${this.prefix}complete/${key}`;
  }

  metadata(key: string): string {
    return `${this.prefix}complete/${key}.json`;
  }

  lease(key: string): string {
    return `${this.prefix}leases/${key}`;
  }

  /** The storage key a manifest's object key names, or undefined for anything else. */
  keyOfManifest(objectKey: string): string | undefined {
    return this.#match(objectKey, /^partial\/([0-9a-f]{64})\.json$/);
  }

  /** The storage key of the upload a tail object belongs to. */
  keyOfTail(objectKey: string): string | undefined {
    return this.#match(objectKey, /^partial\/([0-9a-f]{64})\/tail-[0-9a-f-]+$/);
  }

  /** The storage key of the upload a multipart upload (or finished file) belongs to. */
  keyOfData(objectKey: string): string | undefined {
    return this.#match(objectKey, /^complete\/([0-9a-f]{64})$/);
  }

  #match(objectKey: string, pattern: RegExp): string | undefined {
    if (!objectKey.startsWith(this.prefix)) return undefined;
    return pattern.exec(objectKey.slice(this.prefix.length))?.[1];
  }
}
