// A new version of the app's worker takes over mid-upload: the new one asks the active one to let
// go (on install with skipWaiting, or on the update prompt's SKIP_WAITING), and the active one
// stops its uploads, offsets kept, so the browser can activate the new version at once.
import { describe, expect, it } from 'vitest';
import { isHandOverEnvelope } from '../../src/protocol/index.js';
import type { WorkerVersionLike } from '../../sw/install.js';
import { FakeExtendableEvent } from './kit/fake-scope.js';
import { settle } from './kit/fake-clock.js';
import { at } from './kit/scripted-transport.js';
import { engineKit } from './kit/engine-kit.js';

const KiB = 1024;
const chunk = { initialBytes: 64 * KiB, minBytes: 64 * KiB, maxBytes: 64 * KiB, granularity: 64 * KiB };

class FakeVersion extends EventTarget implements WorkerVersionLike {
  state = 'installing';
  readonly posted: unknown[] = [];
  postMessage(message: unknown): void {
    this.posted.push(message);
  }
  become(state: string): void {
    this.state = state;
    this.dispatchEvent(new Event('statechange'));
  }
}

function setRegistration(kit: ReturnType<typeof engineKit>, registration: { active?: unknown; waiting?: unknown; installing?: unknown }): void {
  Object.assign(kit.scope.scope.registration, registration);
}

/**
 * An active worker uploading 100 KiB (its first slice on the wire) asked to hand over to `waiting`,
 * once the hand-over is done: its uploads stopped, the 10 s before it goes on by itself begun.
 */
async function handedOver(waiting: FakeVersion): Promise<{ kit: ReturnType<typeof engineKit>; id: string }> {
  const kit = engineKit({ chunk });
  const view = await kit.add(100 * KiB);
  (await kit.transport.next()).respond(at(0));
  await kit.transport.next();
  setRegistration(kit, { active: kit.scope.scope.serviceWorker, waiting });
  const message = new FakeExtendableEvent('message', { data: { kind: 'resilient-upload:hand-over' }, ports: [] });
  kit.scope.scope.dispatchEvent(message);
  await Promise.all(message.waits);
  return { kit, id: view.id };
}

describe('hand-over to a new version of the worker', () => {
  it('the active worker stops its running upload once the new version is installed; whenIdle resolves; the upload is queued with its offset', async () => {
    const kit = engineKit({ chunk });
    const view = await kit.add(200 * KiB);
    (await kit.transport.next()).respond(at(0));
    (await kit.transport.next()).respond(at(64 * KiB));
    const inFlight = await kit.transport.next(); // the second slice, on the wire
    const next = new FakeVersion();
    setRegistration(kit, { installing: next, waiting: null });

    const message = new FakeExtendableEvent('message', { data: { kind: 'resilient-upload:hand-over' }, ports: [], source: next });
    kit.scope.scope.dispatchEvent(message);
    await settle();
    // Still installing (precaching, say): keep uploading until it is ready to take over.
    expect(kit.view(view.id).state).toBe('uploading');
    next.become('installed');
    await Promise.all(message.waits);
    expect(await inFlight.answered).toEqual({ kind: 'aborted' });
    expect(kit.view(view.id)).toMatchObject({ state: 'queued', offset: 64 * KiB });
    expect((await kit.store.list())[0]).toMatchObject({ state: 'queued', offset: 64 * KiB });
    // Nothing holds the worker: the browser may activate the new version now.
    await kit.engine.whenIdle();
    expect(kit.transport.calls.length).toBe(3);
  });

  it('should the new version never take over, the old one goes on after 10 s', async () => {
    const { kit, id } = await handedOver(new FakeVersion());
    expect(kit.view(id).state).toBe('queued');
    await kit.clock.advance(9_000);
    expect(kit.view(id).state).toBe('queued');
    await kit.clock.advance(1_000);
    expect(kit.view(id).state).toBe('uploading');
    (await kit.transport.next()).respond(at(100 * KiB, true));
    await settle();
    expect(kit.view(id).state).toBe('done');
  });

  it('a new version that takes over late: the old one does not go on when it already did, and stops for good once it does', async () => {
    // Activated before the 10 s passed: the old one stays stopped.
    const next = new FakeVersion();
    const { kit, id } = await handedOver(next);
    setRegistration(kit, { active: next, waiting: null });
    await kit.clock.advance(10_000);
    expect(kit.view(id).state).toBe('queued');
    expect(kit.transport.calls).toHaveLength(2);

    // Activated after: the old one went on, and stops once it is redundant, its records left as they are.
    const { kit: late, id: other } = await handedOver(new FakeVersion());
    await late.clock.advance(10_000);
    const resumed = await late.transport.next(); // it went on
    const me = late.scope.scope.serviceWorker as unknown as EventTarget & { state: string };
    me.state = 'redundant';
    me.dispatchEvent(new Event('statechange'));
    expect(await resumed.answered).toEqual({ kind: 'aborted' });
    await settle();
    expect(late.view(other).state).toBe('queued');
    const made = late.transport.calls.length;
    await late.clock.advance(60_000);
    expect(late.transport.calls).toHaveLength(made); // nothing more from the retired worker
  });

  it('a new version that fails to install changes nothing', async () => {
    const kit = engineKit({ chunk });
    const view = await kit.add(100 * KiB);
    (await kit.transport.next()).respond(at(0));
    await kit.transport.next();
    const broken = new FakeVersion();
    setRegistration(kit, { installing: broken, waiting: null });
    const message = new FakeExtendableEvent('message', { data: { kind: 'resilient-upload:hand-over' }, ports: [] });
    kit.scope.scope.dispatchEvent(message);
    broken.become('redundant');
    await Promise.all(message.waits);
    expect(kit.view(view.id).state).toBe('uploading');
  });

  it('the new version asks the active one to hand over when it skips waiting: on install (skipWaiting: true) or on SKIP_WAITING (an update prompt)', async () => {
    const old = new FakeVersion();
    old.state = 'activated';
    const eager = engineKit({ skipWaiting: true });
    setRegistration(eager, { active: old });
    const install = new FakeExtendableEvent('install');
    eager.scope.scope.dispatchEvent(install);
    await Promise.all(install.waits);
    expect(eager.scope.scope.skipWaiting).toHaveBeenCalled();
    expect(old.posted.filter(isHandOverEnvelope)).toHaveLength(1);

    const patient = engineKit({ skipWaiting: false });
    setRegistration(patient, { active: old });
    const quiet = new FakeExtendableEvent('install');
    patient.scope.scope.dispatchEvent(quiet);
    expect(old.posted.filter(isHandOverEnvelope)).toHaveLength(1); // waits for the user
    patient.scope.scope.dispatchEvent(new FakeExtendableEvent('message', { data: { type: 'SKIP_WAITING' }, ports: [] }));
    expect(old.posted.filter(isHandOverEnvelope)).toHaveLength(2);

    // The active worker itself never asks itself.
    const self = new FakeVersion();
    const alone = engineKit({ skipWaiting: true });
    setRegistration(alone, { active: self });
    Object.assign(alone.scope.scope, { serviceWorker: self });
    alone.scope.scope.dispatchEvent(new FakeExtendableEvent('install'));
    expect(self.posted).toHaveLength(0);
  });
});
