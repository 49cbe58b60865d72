// The page's `add(files)` against the real engine (a fake worker scope, a held store, a scripted
// transport): four files are with the worker at once, answers keep the files' order, and a file
// that cannot be stored is named in the error while the others stay added; after a worker restart
// the courier offer reaches the new instance before the add.
import { afterEach, describe, expect, it, vi } from 'vitest';
import { UploadError } from '../../src/protocol/errors.js';
import { createUploader, type Uploader } from '../../src/uploader.js';
import { settle } from '../sw/kit/fake-clock.js';
import { engineKit, type EngineKit } from '../sw/kit/engine-kit.js';
import { FakeExtendableEvent } from '../sw/kit/fake-scope.js';
import { HeldStore } from '../sw/kit/held-store.js';

const MiB = 1024 * 1024;

/** A page connected to an engine in this process: requests go straight to its scope, events come back. */
async function pageWithWorker(store: HeldStore, options: { addTimeoutMs?: number } = {}): Promise<{ uploader: Uploader; kit: EngineKit }> {
  const kit = engineKit({ store, concurrency: 1 });
  const container = Object.assign(new EventTarget(), { startMessages: () => undefined });
  const worker = Object.assign(new EventTarget(), {
    scriptURL: 'http://127.0.0.1:9/sw.js',
    state: 'activated',
    postMessage(message: unknown, transfer: Transferable[] = []) {
      kit.scope.scope.dispatchEvent(new FakeExtendableEvent('message', { data: message, ports: transfer, source: null }));
    },
  });
  const registration = Object.assign(new EventTarget(), { active: worker, installing: null, waiting: null });
  kit.scope.scope.clients.matchAll.mockImplementation(async () => [
    { postMessage: (data: unknown) => container.dispatchEvent(new MessageEvent('message', { data })) },
  ]);
  vi.stubGlobal('navigator', { serviceWorker: container });
  const uploader = await createUploader({ registration: registration as unknown as ServiceWorkerRegistration, pageAssist: false, persist: false, keepAliveMs: 0, ...options });
  return { uploader, kit };
}

/** Waits (on state, with a generous deadline) while the page's and the worker's ports deliver. */
async function until(what: string, ok: () => boolean): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (!ok()) {
    if (Date.now() > deadline) throw new Error(`still not: ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 0));
    await settle();
  }
}

const file = (name: string, bytes = 1024): File => new File([new Uint8Array(bytes).fill(name.charCodeAt(0))], name, { lastModified: 1 });

let uploader: Uploader | undefined;
afterEach(() => {
  uploader?.close();
  uploader = undefined;
  vi.unstubAllGlobals();
});

describe('Uploader.add(files)', () => {
  it('hands the worker four files at once; the next goes when one is stored; the views come back in the files’ order', async () => {
    const store = new HeldStore();
    const page = await pageWithWorker(store);
    uploader = page.uploader;
    const names = ['a', 'b', 'c', 'd', 'e', 'f'].map((n) => `${n}.bin`);
    const added = uploader.add(names.map((n) => file(n)));
    // Four are known to the worker, stored one after another: each upload exists before its file
    // is stored. No fifth comes before an add answers, and none can while the store is held.
    await until('four uploads known', () => page.kit.engine.views().length === 4 && store.waiting === 1);
    expect(page.kit.engine.views().map((v) => v.name)).toEqual(names.slice(0, 4));
    store.finishAdd();
    await until('the fifth sent', () => page.kit.engine.views().length === 5);
    expect(page.kit.engine.views().map((v) => v.name)).toEqual(names.slice(0, 5));
    store.hold = false;
    store.finishAdd();
    const views = await added;
    expect(views.map((v) => v.name)).toEqual(names);
    expect((await store.list()).length).toBe(6);
  });

  it('a worker that says nothing for addTimeoutMs: the call rejects with TIMEOUT naming the file, without claiming it was not added; files not yet sent are not sent', async () => {
    const store = new HeldStore(); // never lets a store finish
    const page = await pageWithWorker(store, { addTimeoutMs: 50 });
    uploader = page.uploader;
    const names = ['a', 'b', 'c', 'd', 'e', 'f'].map((n) => `${n}.bin`);
    const error = await uploader.add(names.map((n) => file(n))).catch((e: unknown) => e);
    expect((error as UploadError).code).toBe('TIMEOUT');
    expect((error as UploadError).message).toMatch(/^“a\.bin”: The service worker did not answer 'add'/);
    // The four sent are with the worker (it may well store them yet); the rest were not sent.
    expect(page.kit.engine.views().map((v) => v.name)).toEqual(names.slice(0, 4));
  });

  it('a file that cannot be stored: the call rejects naming it, with the worker’s code; the others are added', async () => {
    const store = new HeldStore();
    store.hold = false;
    const page = await pageWithWorker(store);
    uploader = page.uploader;
    page.kit.scope.storage.quota = 4 * MiB; // less the 1 MiB margin kept free: room for 3 MiB
    const error = await uploader.add([file('small.bin'), file('huge.bin', 4 * MiB), file('last.bin')]).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(UploadError);
    expect((error as UploadError).code).toBe('QUOTA_EXCEEDED');
    expect((error as UploadError).message).toMatch(/^“huge\.bin” was not added: The file needs/);
    expect(((error as UploadError).cause as UploadError).code).toBe('QUOTA_EXCEEDED');
    expect(uploader.uploads.map((u) => u.name)).toEqual(['small.bin', 'last.bin']);
  });

  it('one file rejects with the worker’s error as it is', async () => {
    const store = new HeldStore();
    store.hold = false;
    const page = await pageWithWorker(store);
    uploader = page.uploader;
    page.kit.scope.storage.quota = 2 * MiB;
    const error = await uploader.add(file('huge.bin', 3 * MiB)).catch((e: unknown) => e);
    expect((error as UploadError).code).toBe('QUOTA_EXCEEDED');
    expect((error as UploadError).message).toMatch(/^The file needs/);
  });
});

describe('Uploader.add(files) after the worker restarted', () => {
  it('the page offers its courier to the new instance before the add reaches it', async () => {
    const store = new HeldStore();
    store.hold = false;
    // Two engines on one store: the first as the worker was, the second as the browser started it again.
    const first = engineKit({ store, concurrency: 1 });
    let n = 0;
    const second = engineKit({ store, concurrency: 1, newId: () => `restarted-${++n}` });
    let current = first;
    const seen: string[] = [];
    const container = Object.assign(new EventTarget(), { startMessages: () => undefined });
    const worker = Object.assign(new EventTarget(), {
      scriptURL: 'http://127.0.0.1:9/sw.js',
      state: 'activated',
      postMessage(message: { kind?: string; request?: { type?: string } }, transfer: Transferable[] = []) {
        seen.push(message.kind === 'resilient-upload:request' ? message.request!.type! : message.kind!);
        current.scope.scope.dispatchEvent(new FakeExtendableEvent('message', { data: message, ports: transfer, source: null }));
      },
    });
    const registration = Object.assign(new EventTarget(), { active: worker, installing: null, waiting: null });
    for (const kit of [first, second]) {
      kit.scope.scope.clients.matchAll.mockImplementation(async () => [{ postMessage: (data: unknown) => container.dispatchEvent(new MessageEvent('message', { data })) }]);
    }
    vi.stubGlobal('navigator', { serviceWorker: container });
    uploader = await createUploader({ registration: registration as unknown as ServiceWorkerRegistration, pageAssist: true, persist: false, keepAliveMs: 0 });
    expect(seen).toEqual(['handshake', 'hello', 'ping', 'resilient-upload:courier']);

    seen.length = 0;
    current = second; // the browser stopped the worker and started it again: a new instance
    await uploader.add(file('after.bin'));
    expect(seen).toEqual(['ping', 'resilient-upload:courier', 'add']);
    expect(second.engine.views().map((v) => v.name)).toEqual(['after.bin']);

    seen.length = 0;
    await uploader.add(file('again.bin')); // the same instance: no second offer
    expect(seen).toEqual(['ping', 'add']);
  });
});
