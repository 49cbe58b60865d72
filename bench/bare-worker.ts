// A bare service worker, the ceiling our worker's own uploads are measured against: what a
// worker must do at least (store the picked file in IndexedDB) and one fetch POST. A page of its
// own origin registers it (`writeBareSite` writes that origin's files); the time is taken in the
// worker, from the file's arrival to the answer.
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';

// The worker: puts the picked file in IndexedDB, reads it back, one fetch POST of the stored
// Blob; with `hash`, SHA-256 of the stored Blob in 8 MiB pieces meanwhile (what the file digest
// costs at least). With `picked`, the body our worker alone sends instead: one fetch POST of the
// picked File while the store runs beside it (it sends before the store ends).
export const BARE_SW = `
const open = () => new Promise((res, rej) => { const r = indexedDB.open('bare', 1); r.onupgradeneeded = () => r.result.createObjectStore('blobs'); r.onsuccess = () => res(r.result); r.onerror = () => rej(r.error); });
const tx = (db, mode, fn) => new Promise((res, rej) => { const t = db.transaction('blobs', mode); const q = fn(t.objectStore('blobs')); t.oncomplete = () => res(q.result); t.onerror = () => rej(t.error); });
const digest = async (blob) => { for (let at = 0; at < blob.size; at += 8 << 20) await crypto.subtle.digest('SHA-256', await blob.slice(at, at + (8 << 20)).arrayBuffer()); };
self.addEventListener('install', (e) => e.waitUntil(self.skipWaiting()));
self.addEventListener('activate', (e) => e.waitUntil(self.clients.claim()));
self.addEventListener('message', (e) => e.waitUntil((async () => {
  const { file, id, hash, picked } = e.data; const db = await open();
  const t0 = performance.now();
  const post = (body) => fetch('/upload', { method: 'POST', headers: { 'X-File-Id': id, 'X-Start-Byte': '0' }, body });
  let res;
  if (picked) [res] = await Promise.all([post(file), tx(db, 'readwrite', (s) => s.put(file, id))]);
  else {
    await tx(db, 'readwrite', (s) => s.put(file, id));
    const blob = await tx(db, 'readonly', (s) => s.get(id));
    [res] = await Promise.all([post(blob), hash ? digest(blob) : undefined]);
  }
  await tx(db, 'readwrite', (s) => s.delete(id));
  e.ports[0].postMessage({ ms: performance.now() - t0, status: res.status });
})()));`;

/** The bare worker's origin: its script and an empty page. */
export async function writeBareSite(dir: string): Promise<void> {
  await writeFile(join(dir, 'bare-sw.js'), BARE_SW);
  await writeFile(join(dir, 'index.html'), '<!doctype html><title>bare</title>');
}

export interface BareRun {
  /** The upload id (X-File-Id). */
  readonly tag: string;
  /** SHA-256 the stored Blob beside the POST. */
  readonly hash: boolean;
  /** Send the picked File while storing it, instead of the stored copy after the store. */
  readonly picked: boolean;
}

/**
 * Runs in the bare origin's page: hands the file picked into `#bench` to the bare worker and
 * resolves with the worker's time in ms. Self-contained, for a driver's evaluate().
 */
export async function bareUploadInPage({ tag, hash, picked }: BareRun): Promise<number> {
  const file = document.querySelector<HTMLInputElement>('#bench')!.files![0]!;
  await navigator.serviceWorker.register('/bare-sw.js');
  const worker = (await navigator.serviceWorker.ready).active!;
  const channel = new MessageChannel();
  const reply = new Promise<{ ms: number; status: number }>((resolve) => (channel.port1.onmessage = (e: MessageEvent<{ ms: number; status: number }>) => resolve(e.data)));
  worker.postMessage({ file, id: tag, hash, picked }, [channel.port2]);
  const { ms, status } = await reply;
  if (status !== 200) throw new Error(`bare worker POST answered ${status}`);
  return ms;
}
