// The engine with protocols: each upload keeps its protocol and endpoint, and what its transport
// asked to keep (a tus upload URL) comes back to the transport after the worker restarts.
import { describe, expect, it } from 'vitest';
import { installUploader } from '../../sw/install.js';
import { MemoryRecordStore } from '../../sw/memory-record-store.js';
import { FakeClock, settle } from './kit/fake-clock.js';
import { fakeScope } from './kit/fake-scope.js';
import { ScriptedTransport, at } from './kit/scripted-transport.js';
import { engineKit } from './kit/engine-kit.js';

const file = (n: number): File => new File([new Uint8Array(n)], 'f.bin');
const add = (kit: ReturnType<typeof engineKit>, options: Record<string, string>) =>
  kit.engine.handle({ type: 'add', file: file(100), name: 'f.bin', lastModified: 1, options });

describe('protocol and endpoint of an upload', () => {
  it.each([
    [{}, {}, 'status-slice', 'http://127.0.0.1:9'],
    [{}, { protocol: 'tus' }, 'tus', 'http://127.0.0.1:9/files/'],
    [{}, { protocol: 'ietf', endpoint: 'https://up.example/v1/files/' }, 'ietf', 'https://up.example/v1/files/'],
    [{ protocol: 'tus' as const }, {}, 'tus', 'http://127.0.0.1:9/files/'],
    [{ protocol: 'tus' as const, endpoint: 'https://tus.example/files/' }, {}, 'tus', 'https://tus.example/files/'],
    [{ protocol: 'tus' as const, endpoint: 'https://tus.example/files/' }, { protocol: 'status-slice' }, 'status-slice', 'http://127.0.0.1:9'],
    [{ protocol: 'ietf' as const }, { endpoint: 'uploads/' }, 'ietf', 'http://127.0.0.1:9/files/uploads/'],
  ])('installUploader(%j), add(%j) → %s at %s', async (install, options, protocol, endpoint) => {
    const kit = engineKit(install);
    kit.transport.respondWith(() => at(0));
    const view = await add(kit, options);
    expect(view).toMatchObject({ protocol, endpoint });
  });

  it('an unknown protocol is INVALID_ARGUMENT', async () => {
    const kit = engineKit();
    await expect(add(kit, { protocol: 'ftp' })).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
  });

  it("the transport's remote (a tus URL) is kept in the record and handed back after a worker restart", async () => {
    const store = new MemoryRecordStore();
    const clock = new FakeClock();
    const first = new ScriptedTransport();
    const engine = installUploader({ scope: fakeScope().asScope, store, transport: first, clock, digest: false, newId: () => 'u1', protocol: 'tus' });
    await engine.handle({ type: 'add', file: file(100), name: 'f.bin', lastModified: 1, options: {} });
    const status = await first.next();
    expect(status.upload.protocol).toBe('tus');
    status.respond({ kind: 'offset', offset: 0, complete: false, remote: { url: 'https://tus.example/files/abc', fresh: '1' } });
    const append = await first.next();
    expect(append.upload.remote).toEqual({ url: 'https://tus.example/files/abc', fresh: '1' });
    // The worker stops mid-append.
    await engine.handle({ type: 'pause', uploadId: 'u1' });
    await settle();
    expect((await store.list())[0]!.remote).toEqual({ url: 'https://tus.example/files/abc', fresh: '1' });

    const second = new ScriptedTransport();
    const restarted = installUploader({ scope: fakeScope().asScope, store, transport: second, clock, digest: false, newId: () => 'u2' });
    await restarted.handle({ type: 'resume', uploadId: 'u1' });
    const again = await second.next();
    expect(again.kind).toBe('status');
    expect(again.upload).toMatchObject({ protocol: 'tus', remote: { url: 'https://tus.example/files/abc', fresh: '1' } });
    again.respond({ kind: 'offset', offset: 100, complete: true, remote: { url: 'https://tus.example/files/abc' } });
    await settle();
    expect(restarted.views()[0]).toMatchObject({ state: 'done', protocol: 'tus' });
    expect((await store.list())[0]!.remote).toEqual({ url: 'https://tus.example/files/abc' });
  });
});

describe('cancel while an answer brings the upload’s URL', () => {
  it('the DELETE names the URL that answer brought (the record as it is once the run has ended)', async () => {
    const kit = engineKit();
    const view = await kit.add(1000, 'f.bin');
    const status = await kit.transport.next(); // the creation (a status that makes the upload)
    status.respond({ kind: 'offset', offset: 0, complete: false, remote: { url: 'https://up.example/files/abc' } });
    const cancelling = kit.engine.handle({ type: 'cancel', uploadId: view.id });
    const del = await kit.transport.next();
    expect(del.kind).toBe('cancel');
    expect(del.upload.remote).toEqual({ url: 'https://up.example/files/abc' });
    del.respond(at(0));
    expect((await cancelling).state).toBe('cancelled');
  });
});
