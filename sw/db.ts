// The only module that imports idb: the schema, its store names and how to open it.
import { wrap, type DBSchema, type IDBPDatabase } from 'idb';
import type { UploadRecord } from './record.js';

export const DB_NAME = 'resilient-upload';
export const DB_VERSION = 1;
export const UPLOADS_STORE = 'uploads';
export const BLOBS_STORE = 'blobs';
/** Index of `uploads` on `[fileId, endpoint]`, for dedup. */
export const BY_FILE_INDEX = 'by-file';

/** The whole database, typed. */
export interface UploadSchema extends DBSchema {
  [UPLOADS_STORE]: {
    key: string;
    value: UploadRecord;
    indexes: { [BY_FILE_INDEX]: [string, string] };
  };
  /** Key: upload id. The value is the Blob itself, never an ArrayBuffer copy. */
  [BLOBS_STORE]: {
    key: string;
    value: Blob;
  };
}

export type UploadDb = IDBPDatabase<UploadSchema>;

/**
 * Opens (and creates or upgrades) the database on `factory`. Taking the factory lets tests
 * give each case its own `IDBFactory`; idb's `openDB` always uses the global one.
 */
export async function openUploadDb(factory: IDBFactory, name: string = DB_NAME): Promise<UploadDb> {
  const request = factory.open(name, DB_VERSION);
  request.onupgradeneeded = (event) => {
    const db = request.result;
    if (event.oldVersion < 1) {
      const uploads = db.createObjectStore(UPLOADS_STORE, { keyPath: 'id' });
      uploads.createIndex(BY_FILE_INDEX, ['fileId', 'endpoint']);
      db.createObjectStore(BLOBS_STORE);
    }
  };
  const db = (await wrap(request)) as unknown as UploadDb;
  return db;
}
