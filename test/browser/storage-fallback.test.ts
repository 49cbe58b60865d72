// The storage fallback, forced in every engine: the file kept as ArrayBuffer chunks in IndexedDB
// (what the worker does where the engine cannot store a Blob) survives a browser relaunch and
// uploads byte-identical.
import { describe, expect } from 'vitest';
import { faultCase, selectedEngines } from './cases.js';
import { completedHashes, makeFile, rows, until, waitForRows } from './harness.js';

const MiB = 1024 * 1024;

for (const engine of selectedEngines()) {
  describe(`storage fallback · ${engine.name}`, () => {
    faultCase(
      engine,
      { id: 'F1', title: 'files kept as ArrayBuffer chunks (forced): stored, kept across a browser relaunch, uploaded byte-identical', lab: { bytesPerSecond: 4 * MiB } },
      async (lab) => {
        const source = await makeFile(lab.filesDir, 'chunks.bin', 12 * MiB + 7);
        const page = await lab.open('?files=chunks');
        await page.pick('#file', [source.path]);
        await until('an upload under way', async () => (await rows(page)).some((r) => r.offset > 0));
        await lab.relaunch();
        const again = await lab.open('?files=chunks');
        await waitForRows(again, 1, ['done']);
        expect(await completedHashes(lab.uploadDir)).toEqual(new Set([source.sha256]));
        const stored = await again.evaluate(async () => {
          const db = await new Promise<IDBDatabase>((resolve, reject) => {
            const open = indexedDB.open('resilient-upload');
            open.onsuccess = () => resolve(open.result);
            open.onerror = () => reject(open.error);
          });
          const read = (store: string): Promise<unknown[]> =>
            new Promise((resolve, reject) => {
              const req = db.transaction(store).objectStore(store).getAll();
              req.onsuccess = () => resolve(req.result as unknown[]);
              req.onerror = () => reject(req.error);
            });
          const [record] = (await read('uploads')) as { storage?: { kind: string } }[];
          const result = { kind: record?.storage?.kind, chunksLeft: (await read('chunks')).length };
          db.close();
          return result;
        }, null);
        // Kept as chunks, and the chunks dropped once done.
        expect(stored).toEqual({ kind: 'chunks', chunksLeft: 0 });
      },
    );
  });
}
