// The page's view of origin storage: persistence and how much is used. The quota check before a
// file is stored happens once, in the worker (sw/admission.ts), next to the store it protects.

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
