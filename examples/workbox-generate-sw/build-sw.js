// After `vite build`: put the ready uploader worker beside the app under a name no other worker
// uses, then let Workbox generate sw.js, which precaches the app and imports the uploader.
import { copyFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { generateSW } from 'workbox-build';

const uploaderWorker = fileURLToPath(import.meta.resolve('resilient-upload/resilient-upload-sw.js'));
await copyFile(uploaderWorker, 'dist/resilient-upload-sw.js');

const { count, size, warnings } = await generateSW({
  globDirectory: 'dist',
  globPatterns: ['**/*.{html,js,css}'],
  // Loaded by importScripts, so the browser keeps it with the worker: no need to precache it.
  globIgnores: ['resilient-upload-sw.js', 'sw.js', 'workbox-*.js'],
  swDest: 'dist/sw.js',
  importScripts: ['resilient-upload-sw.js'],
  // The ready worker takes over at once too (installUploader's default): a new version
  // replaces the old one immediately, and uploads in flight resume in it.
  skipWaiting: true,
  clientsClaim: true,
  navigateFallback: '/index.html',
});
for (const warning of warnings) console.warn(warning);
console.log(`sw.js precaches ${count} files (${size} bytes) and imports resilient-upload-sw.js`);
