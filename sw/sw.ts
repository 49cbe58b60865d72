// The ready service worker (dist/demo/resilient-upload-sw.js): uploads to the worker's own origin, for the demo
// and for apps that `importScripts('/resilient-upload-sw.js')` from their own worker.
import { installUploader } from './index.js';
import { optionsFromQuery } from './query-options.js';

declare const self: ServiceWorkerGlobalScope;

// Passing `self` explicitly also checks, at compile time, that the real scope fits UploaderScope.
installUploader({ scope: self, ...optionsFromQuery(new URL(self.location.href).searchParams) });
