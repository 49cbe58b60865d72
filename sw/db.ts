// The only module that imports idb: the schema, its store names and how to open it.
import { wrap, type DBSchema, type IDBPDatabase } from 'idb';
import type { UploadRecord } from './record.js';

export const DB_NAME = 'resilient-upload';
export const DB_VERSION = 2;
export const UPLOADS_STORE = 'uploads';
export const BLOBS_STORE = 'blobs';
export const CHUNKS_STORE = 'chunks';
/**
 * Index of `uploads` on `[fileId, endpoint]`. Version 1 created it for dedup; the engine now finds
 * an upload's file in memory (it holds every record), but dropping it would take a new version.
 */
export const BY_FILE_INDEX = 'by-file';

/** The whole database, typed. */
export interface UploadSchema extends DBSchema {
  [UPLOADS_STORE]: {
    key: string;
    value: UploadRecord;
    indexes: { [BY_FILE_INDEX]: [string, string] };
  };
  /**
   * Key: upload id. The Blob itself, never an ArrayBuffer copy: Chromium and Firefox keep it on
   * disk and hand back a handle (a 200 MiB File stored in ~0.1 s, memory flat).
   */
  [BLOBS_STORE]: {
    key: string;
    value: Blob;
  };
  /**
   * Key: [upload id, chunk index]. The file as ArrayBuffer chunks, for engines that fail to store
   * a Blob (WebKit: "Error preparing Blob/File data to be stored in object store"); the same
   * fallback workbox-background-sync takes for request bodies.
   */
  [CHUNKS_STORE]: {
    key: [string, number];
    value: ArrayBuffer;
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
    if (event.oldVersion < 2) db.createObjectStore(CHUNKS_STORE);
  };
  return (await wrap(request)) as unknown as UploadDb;
}
