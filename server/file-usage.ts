// What each namespace's unfinished uploads hold on disk, for the per-namespace limits: an index in
// memory, built from partial/*.json at startup and kept up to date by every write, so a POST never
// scans the directory.
import { readdir } from 'node:fs/promises';
import { readJson, statOrUndefined } from './fs-util.js';
import { FileLayout, type PartialMeta } from './file-layout.js';
import type { NamespaceUsage } from './storage.js';

export class NamespaceIndex {
  readonly #byKey = new Map<string, { namespace: string; bytes: number }>();
  readonly #totals = new Map<string, { uploads: number; bytes: number }>();

  /** Records that upload `key` of `namespace` now counts `bytes` (see NamespaceUsage.bytes). */
  set(namespace: string, key: string, bytes: number): void {
    this.delete(key);
    this.#byKey.set(key, { namespace, bytes });
    const t = this.#totals.get(namespace) ?? { uploads: 0, bytes: 0 };
    this.#totals.set(namespace, { uploads: t.uploads + 1, bytes: t.bytes + bytes });
  }

  /** The upload completed or was removed. */
  delete(key: string): void {
    const old = this.#byKey.get(key);
    if (!old) return;
    this.#byKey.delete(key);
    const t = this.#totals.get(old.namespace)!;
    if (t.uploads === 1) this.#totals.delete(old.namespace);
    else this.#totals.set(old.namespace, { uploads: t.uploads - 1, bytes: t.bytes - old.bytes });
  }

  usage(namespace: string): NamespaceUsage {
    return this.#totals.get(namespace) ?? { uploads: 0, bytes: 0 };
  }

  /** Fills the index from what is on disk (after recovery, before any request). */
  async load(layout: FileLayout): Promise<void> {
    for (const name of await readdir(layout.partialDir)) {
      const entry = FileLayout.parse(name);
      if (entry?.kind !== 'meta') continue;
      const meta = await readJson<PartialMeta>(layout.partial(entry.key, 'meta'));
      if (!meta) continue;
      const held = (await statOrUndefined(layout.partial(entry.key)))?.size ?? 0;
      this.set(meta.namespace, entry.key, Math.max(meta.size ?? 0, held));
    }
  }
}
