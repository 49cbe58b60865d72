/// <reference lib="webworker" />
// The app's one service worker: Workbox precaches the build, the uploader runs uploads.
import { installUploader } from 'resilient-upload/sw';
import { cleanupOutdatedCaches, precacheAndRoute } from 'workbox-precaching';

declare const self: ServiceWorkerGlobalScope & { __WB_MANIFEST: Array<{ url: string; revision: string | null } | string> };

precacheAndRoute(self.__WB_MANIFEST);
cleanupOutdatedCaches();

// A new version waits for the user (registerType: 'prompt'): the uploader must not skip waiting
// on its own. Uploads in flight resume in the new version once it takes over.
installUploader({ skipWaiting: false });

// The prompt's "update" (updateServiceWorker() in App.tsx) sends this.
self.addEventListener('message', (event) => {
  if ((event.data as { type?: unknown } | null)?.type === 'SKIP_WAITING') void self.skipWaiting();
});
