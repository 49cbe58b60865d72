// @vitest-environment happy-dom
// The React binding in a DOM, in strict mode: one connection, the live list, actions bound,
// nothing left listening after unmount.
import { act, createElement, StrictMode, useState, type ReactElement } from 'react';
import { createRoot, type Root } from 'react-dom/client';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { UploadError } from '../../src/protocol/errors.js';
import { UploaderProvider, useUploader, useUploaderEvent, useUploads } from '../../src/react/index.js';
import type { Uploader } from '../../src/uploader.js';
import { FakeUploader, view } from './fake-uploader.js';

beforeAll(() => {
  (globalThis as { IS_REACT_ACT_ENVIRONMENT?: boolean }).IS_REACT_ACT_ENVIRONMENT = true;
});

/** A create() the test resolves when it wants, counting calls. */
function deferredCreate(): { create: () => Promise<Uploader>; calls: () => number; resolve(u: Uploader): Promise<void>; reject(e: unknown): Promise<void> } {
  let calls = 0;
  let settle: { resolve(u: Uploader): void; reject(e: unknown): void } | undefined;
  const pending = new Promise<Uploader>((resolve, reject) => (settle = { resolve, reject }));
  return {
    create: () => {
      calls += 1;
      return pending;
    },
    calls: () => calls,
    resolve: (u) => act(async () => settle!.resolve(u)),
    reject: (e) => act(async () => settle!.reject(e)),
  };
}

let actions: ReturnType<typeof useUploads> = [];
let handle: ReturnType<typeof useUploader> | undefined;
const events: string[] = [];

function List(): ReactElement {
  handle = useUploader();
  actions = useUploads();
  useUploaderEvent('complete', ({ upload }) => events.push(`complete ${upload.id}`));
  return createElement(
    'main',
    { 'data-status': handle.status, 'data-error': handle.error?.code ?? '' },
    createElement(
      'ul',
      null,
      actions.map((u) => createElement('li', { key: u.id, 'data-id': u.id, 'data-state': u.state }, `${u.name} ${Math.round(u.progress * 100)}%`)),
    ),
  );
}

let root: Root | undefined;
let host: HTMLElement;

async function mount(create: () => Promise<Uploader>, strict = true): Promise<void> {
  host = document.createElement('div');
  document.body.append(host);
  root = createRoot(host);
  const tree = createElement(UploaderProvider, { create }, createElement(List));
  await act(async () => root!.render(strict ? createElement(StrictMode, null, tree) : tree));
}

async function unmount(): Promise<void> {
  await act(async () => root?.unmount());
  root = undefined;
  // The provider closes one task after the last unmount (strict mode remounts in between).
  await act(() => new Promise((r) => setTimeout(r, 5)));
}

const status = (): string | null => host.querySelector('main')?.getAttribute('data-status') ?? null;
const items = (): string[] => [...host.querySelectorAll('li')].map((li) => li.textContent ?? '');

afterEach(async () => {
  await unmount();
  host?.remove();
  events.length = 0;
  handle = undefined;
});

describe('React binding', () => {
  it('connects once in strict mode, shows the live list with progress, and leaves nothing listening on unmount', async () => {
    const uploader = new FakeUploader();
    const pending = deferredCreate();
    await mount(pending.create);
    expect(status()).toBe('connecting');
    await pending.resolve(uploader);
    expect(pending.calls()).toBe(1);
    expect(status()).toBe('ready');
    // One snapshot subscription and one `complete` listener, not two.
    expect(uploader.listeners).toBe(2);

    await act(async () => uploader.emit('snapshot', { uploads: [view('a', { offset: 25 }), view('b', { state: 'paused', offset: 50 })] }));
    expect(items()).toEqual(['a.bin 25%', 'b.bin 50%']);
    await act(async () => uploader.emit('snapshot', { uploads: [view('a', { offset: 100, state: 'done' }), view('b', { state: 'paused', offset: 50 })] }));
    expect(items()).toEqual(['a.bin 100%', 'b.bin 50%']);
    await act(async () => uploader.emit('complete', { upload: view('a', { state: 'done' }) }));
    expect(events).toEqual(['complete a']);

    await unmount();
    expect(uploader.listeners).toBe(0);
    expect(uploader.closed).toBe(1);
    expect(pending.calls()).toBe(1);
  });

  it('binds the actions: each item acts on its upload, add waits for the connection', async () => {
    const uploader = new FakeUploader();
    const pending = deferredCreate();
    await mount(pending.create);
    const added = handle!.add(new File(['12345'], 'early.bin'));
    await pending.resolve(uploader);
    expect((await added).map((v) => v.name)).toEqual(['early.bin']);
    await act(async () => uploader.emit('snapshot', { uploads: [view('a'), view('b')] }));
    await act(async () => {
      await actions[0]!.pause();
      await actions[1]!.cancel();
      await actions[0]!.resume();
      await actions[1]!.retry();
      await handle!.setHeaders('all', { authorization: 'Bearer x' });
      await handle!.clearCompleted();
    });
    expect(uploader.calls).toEqual(['add early.bin', 'pause a', 'cancel b', 'resume a', 'retry b', 'set-headers all', 'clear-completed']);
  });

  it('reports a failed connection with its code (NOT_INSTALLED), and add rejects with it', async () => {
    const pending = deferredCreate();
    await mount(pending.create);
    await pending.reject(new UploadError('NOT_INSTALLED', 'The service worker /sw.js does not run the uploader'));
    expect(status()).toBe('failed');
    expect(host.querySelector('main')?.getAttribute('data-error')).toBe('NOT_INSTALLED');
    await expect(handle!.add(new File(['x'], 'x.bin'))).rejects.toMatchObject({ code: 'NOT_INSTALLED' });
  });

  it('closes an uploader that connects after its provider unmounted', async () => {
    const uploader = new FakeUploader();
    const pending = deferredCreate();
    await mount(pending.create);
    await unmount();
    await pending.resolve(uploader);
    expect(uploader.closed).toBe(1);
    expect(uploader.listeners).toBe(0);
  });

  it('a provider that goes and comes back (not strict mode) connects again, one at a time', async () => {
    const first = new FakeUploader();
    const second = new FakeUploader();
    let calls = 0;
    const create = async (): Promise<Uploader> => (++calls === 1 ? first : second);
    function Toggle(): ReactElement {
      const [shown, setShown] = useState(true);
      (globalThis as { toggle?: () => void }).toggle = () => setShown((s) => !s);
      return createElement('div', null, shown ? createElement(UploaderProvider, { create }, createElement(List)) : null);
    }
    host = document.createElement('div');
    document.body.append(host);
    root = createRoot(host);
    await act(async () => root!.render(createElement(Toggle)));
    const toggle = (globalThis as { toggle?: () => void }).toggle!;
    await act(async () => toggle());
    await act(() => new Promise((r) => setTimeout(r, 5)));
    expect(first.closed).toBe(1);
    expect(first.listeners).toBe(0);
    await act(async () => toggle());
    expect(calls).toBe(2);
    expect(status()).toBe('ready');
    expect(second.listeners).toBe(2);
  });
});
