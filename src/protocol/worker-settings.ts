// The settings the ready classic worker reads from its own script URL
// (`/resilient-upload-sw.js?digest=0`): the worker parses them (sw/query-options.ts); a page that
// builds the URL passes only these on, since any other parameter would install the worker again.
export const WORKER_QUERY_KEYS = ['endpoint', 'protocol', 'concurrency', 'digest', 'integrity', 'timeoutBaseMs', 'timeoutMinBytesPerSecond', 'files', 'credentials'] as const;

export type WorkerQueryKey = (typeof WORKER_QUERY_KEYS)[number];
