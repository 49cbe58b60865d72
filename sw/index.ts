// Public entry `resilient-upload/sw`: add the uploader to your own service worker, or build on its parts.
export {
  installUploader,
  SYNC_TAG,
  type InstallOptions,
  type HeadersHook,
  type UploaderScope,
  type ExtendableEventLike,
  type MessageEventLike,
  type SyncEventLike,
} from './install.js';
export { UploadEngine, type EngineDeps } from './engine.js';
export { systemClock, type Clock } from './clock.js';
export type { RecordStore } from './record-store.js';
export type { StoredFile } from './stored-file.js';
export { IdbRecordStore, type IdbRecordStoreOptions } from './idb-record-store.js';
export { MemoryRecordStore, type MemoryRecordStoreOptions } from './memory-record-store.js';
export { toView, type UploadRecord } from './record.js';
export { DB_NAME, DB_VERSION, UPLOADS_STORE, BLOBS_STORE, CHUNKS_STORE } from './db.js';
export { DEFAULT_RETRY_POLICY, retryDelay, type RetryPolicy } from './retry.js';
export { DEFAULT_CHUNK_POLICY, type ChunkPolicy } from './chunk-size.js';
export { DEFAULT_TIMEOUT_POLICY, type TimeoutPolicy } from './transport/timeouts.js';
export type { Transport, TransportOutcome, TransportUpload, AppendRequest, RequestContext } from './transport/port.js';
export { StatusSliceTransport } from './transport/status-slice.js';
export { FetchHttpClient, type HttpClient, type HttpRequest, type HttpResponse, type SendOptions } from './transport/http-client.js';
export type { StorageEstimateLike } from './admission.js';
export { TusTransport, type TusOptions } from './transport/tus.js';
export { IetfTransport, type IetfOptions } from './transport/ietf.js';
export { ProtocolRouter } from './transport/router.js';
export type { HttpExchangeOptions } from './transport/exchange.js';
