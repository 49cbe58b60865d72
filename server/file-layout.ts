// The disk store's layout, in one place. Under the upload directory, every name is derived from
// storageKey(namespace, id), never from client text:
//   partial/<key>            the bytes received so far: its length IS the offset
//   partial/<key>.json       PartialMeta: id, namespace, size (once sent), name, createdAt; written
//                            before the first byte is acknowledged
//   partial/<key>.guard      empty, or the offset to roll back to while a digest-checked body is
//                            appended (its bytes count only once verified)
//   complete/<key>           the finished file (atomic rename from partial/)
//   complete/<key>.json      its UploadMetadata; complete/<key> alone already counts as complete
//                            (the metadata is finished on the next touch or at startup)
//   complete/<key>.pending   empty: onComplete not yet delivered; written (and made durable)
//                            before the rename, removed once the hook succeeded
//   <any>.tmp                a small file being written atomically; a crash may leave one
import { join } from 'node:path';
import { STORAGE_KEY_PATTERN } from './storage.js';

/** What partial/<key>.json holds. */
export interface PartialMeta {
  readonly id: string;
  readonly namespace: string;
  readonly size?: number;
  readonly name?: string;
  readonly createdAt: string;
}

export type EntryKind = 'data' | 'meta' | 'guard' | 'pending' | 'tmp';

const SUFFIX: Record<Exclude<EntryKind, 'data' | 'tmp'>, string> = { meta: '.json', guard: '.guard', pending: '.pending' };

export class FileLayout {
  readonly root: string;
  readonly partialDir: string;
  readonly completeDir: string;

  constructor(root: string) {
    this.root = root;
    this.partialDir = join(root, 'partial');
    this.completeDir = join(root, 'complete');
  }

  partial(key: string, kind: 'data' | 'meta' | 'guard' = 'data'): string {
    return join(this.partialDir, key + (kind === 'data' ? '' : SUFFIX[kind]));
  }

  complete(key: string, kind: 'data' | 'meta' | 'pending' = 'data'): string {
    return join(this.completeDir, key + (kind === 'data' ? '' : SUFFIX[kind]));
  }

  /** What a directory entry is, or undefined for a name the store did not write. */
  static parse(name: string): { key: string; kind: EntryKind } | undefined {
    if (name.endsWith('.tmp')) return { key: name.slice(0, 64), kind: 'tmp' };
    const key = name.slice(0, 64);
    if (!STORAGE_KEY_PATTERN.test(key)) return undefined;
    const rest = name.slice(64);
    if (rest === '') return { key, kind: 'data' };
    for (const [kind, suffix] of Object.entries(SUFFIX) as Array<[EntryKind, string]>) if (rest === suffix) return { key, kind };
    return undefined;
  }
}
