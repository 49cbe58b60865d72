// The page's view of origin storage: persistence and the quota check before a file is handed over.
import { UploadError } from './protocol/errors.js';

export interface StorageStatus {
  /** Whether the browser granted persistent storage (not evicted under pressure). */
  readonly persisted: boolean;
  readonly quota?: number;
  readonly usage?: number;
}

/** Asks for persistent storage once; browsers may say no, which is reported, not hidden. */
export async function requestPersistence(storage: StorageManager | undefined): Promise<boolean> {
  if (!storage?.persist) return false;
  try {
    return (await storage.persisted()) || (await storage.persist());
  } catch {
    return false;
  }
}

export async function storageStatus(storage: StorageManager | undefined): Promise<StorageStatus> {
  const persisted = storage?.persisted ? await storage.persisted().catch(() => false) : false;
  const estimate = storage?.estimate ? await storage.estimate().catch(() => undefined) : undefined;
  return {
    persisted,
    ...(estimate?.quota === undefined ? {} : { quota: estimate.quota }),
    ...(estimate?.usage === undefined ? {} : { usage: estimate.usage }),
  };
}

/** Throws QUOTA_EXCEEDED when `bytes` more would not fit in what the browser grants this origin. */
export async function assertFits(storage: StorageManager | undefined, bytes: number): Promise<void> {
  if (!storage?.estimate) return;
  // No estimate, no early check: the worker's IndexedDB transaction still enforces the quota.
  const estimate = await storage.estimate().catch(() => undefined);
  if (!estimate) return;
  const { quota, usage } = estimate;
  if (quota === undefined || usage === undefined) return;
  if (usage + bytes > quota) {
    throw new UploadError(
      'QUOTA_EXCEEDED',
      `Not enough browser storage for this file: it needs ${bytes} bytes, ${Math.max(0, quota - usage)} are free`,
    );
  }
}
