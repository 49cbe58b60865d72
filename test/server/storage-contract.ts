// The contract every UploadStorage must pass: a new backend is done when this suite is green.
import { describe, expect, it } from 'vitest';
import { createHash } from 'node:crypto';
import type { UploadRef, UploadStorage } from '../../server/index.js';
import { UploadServerError, storageKey } from '../../server/index.js';
import { describeFile, type SweepClaim } from '../../server/storage.js';

export interface ContractFixture {
  storage: UploadStorage;
  /** Moves the storage's clock forward. */
  advance(ms: number): void;
  /** A new instance over the same data, as after a restart; absent for storages that keep nothing. */
  reopen?(): UploadStorage;
  cleanup(): Promise<void>;
}

async function* chunks(...parts: Uint8Array[]): AsyncGenerator<Uint8Array> {
  for (const p of parts) yield p;
}

async function* failing(parts: Uint8Array[], error: Error): AsyncGenerator<Uint8Array> {
  for (const p of parts) yield p;
  throw error;
}

async function collect<T>(items: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const item of items) out.push(item);
  return out;
}

async function readAll(storage: UploadStorage, ref: UploadRef): Promise<Buffer | undefined> {
  const src = await storage.read(ref);
  if (!src) return undefined;
  const out: Buffer[] = [];
  for await (const c of src) out.push(Buffer.from(c));
  return Buffer.concat(out);
}

function digest(data: Uint8Array): Uint8Array {
  return new Uint8Array(createHash('sha256').update(data).digest());
}

async function rejected(p: Promise<unknown>): Promise<UploadServerError> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(UploadServerError);
  return err as UploadServerError;
}

const bytes = (s: string): Uint8Array => new TextEncoder().encode(s);

/** A claim that always grants, recording which keys were claimed and whether each was released. */
function recordingClaim(refuse: ReadonlySet<string> = new Set()): { claim: SweepClaim; held: Set<string>; claimed: string[] } {
  const held = new Set<string>();
  const claimed: string[] = [];
  const claim: SweepClaim = (key) => {
    if (refuse.has(key)) return undefined;
    claimed.push(key);
    held.add(key);
    return { release: () => void held.delete(key) };
  };
  return { claim, held, claimed };
}

export function storageContract(name: string, make: () => Promise<ContractFixture>): void {
  describe(`UploadStorage contract: ${name}`, () => {
    const ref: UploadRef = { namespace: 'ns', id: 'file-1' };
    const big = 1_000_000;

    it('reports nothing for an unknown upload', async () => {
      const f = await make();
      await f.storage.init();
      expect(await f.storage.status(ref)).toBeUndefined();
      expect(await f.storage.read(ref)).toBeUndefined();
      await f.cleanup();
    });

    it('appends in order, records size and name, and completes', async () => {
      const f = await make();
      const data = Buffer.alloc(big, 7);
      expect(await f.storage.append(ref, chunks(data.subarray(0, 400_000)), { start: 0, size: big, name: 'a b.bin', maxBytes: big })).toEqual({ offset: 400_000 });
      expect(await f.storage.status(ref)).toEqual({ offset: 400_000, size: big, complete: false, name: 'a b.bin' });
      await f.storage.append(ref, chunks(data.subarray(400_000, 700_000), data.subarray(700_000)), { start: 400_000, maxBytes: big - 400_000 });
      const done = await f.storage.complete(ref);
      expect(done.metadata).toMatchObject({ id: 'file-1', namespace: 'ns', size: big, name: 'a b.bin' });
      expect(typeof done.path).toBe('string');
      expect(await f.storage.status(ref)).toMatchObject({ offset: big, complete: true });
      expect((await readAll(f.storage, ref))?.equals(data)).toBe(true);
      await f.cleanup();
    });

    // tus and the IETF draft create an upload before any byte arrives, and learn a deferred length late.
    it('an empty append creates the upload at offset 0 with its size and name', async () => {
      const f = await make();
      expect(await f.storage.append(ref, chunks(), { start: 0, size: 5, name: 'n', maxBytes: 5 })).toEqual({ offset: 0 });
      expect(await f.storage.status(ref)).toEqual({ offset: 0, size: 5, complete: false, name: 'n' });
      await f.cleanup();
    });

    it('records a size first given on a later append (a deferred length)', async () => {
      const f = await make();
      await f.storage.append(ref, chunks(bytes('ab')), { start: 0, maxBytes: 100 });
      expect((await f.storage.status(ref))?.size).toBeUndefined();
      await f.storage.append(ref, chunks(bytes('c')), { start: 2, size: 3, maxBytes: 1 });
      expect(await f.storage.status(ref)).toMatchObject({ offset: 3, size: 3 });
      await f.cleanup();
    });

    it('keeps a file description (describeFile) and completes with its name, type and fields', async () => {
      const f = await make();
      const name = describeFile({ name: 'a.txt', type: 'text/plain', fields: { filename: 'a.txt', album: 'x' } });
      await f.storage.append(ref, chunks(bytes('x')), { start: 0, name, maxBytes: 10 });
      expect((await f.storage.status(ref))?.name).toBe(name);
      const done = await f.storage.complete(ref);
      expect(done.metadata).toMatchObject({ name: 'a.txt', safeName: 'a.txt', type: 'text/plain', fields: { filename: 'a.txt', album: 'x' } });
      await f.cleanup();
    });

    it('refuses a start that differs from the offset held, without storing anything', async () => {
      const f = await make();
      expect((await rejected(f.storage.append(ref, chunks(bytes('x')), { start: 5, maxBytes: 10 })))).toMatchObject({ code: 'OFFSET_MISMATCH', offset: 0 });
      expect((await f.storage.status(ref))?.offset ?? 0).toBe(0);
      await f.storage.append(ref, chunks(bytes('abc')), { start: 0, maxBytes: 10 });
      expect(await rejected(f.storage.append(ref, chunks(bytes('x')), { start: 2, maxBytes: 10 }))).toMatchObject({ code: 'OFFSET_MISMATCH', offset: 3 });
      await f.cleanup();
    });

    it('keeps every byte of a body that fails midway', async () => {
      const f = await make();
      const err = await rejected(f.storage.append(ref, failing([bytes('hello '), bytes('wor')], new Error('socket closed')), { start: 0, maxBytes: 100 }));
      expect(err.offset).toBe(9);
      expect((await f.storage.status(ref))?.offset).toBe(9);
      expect((await readAll(f.storage, ref))?.toString()).toBe('hello wor');
      await f.cleanup();
    });

    it('keeps the code of an UploadServerError the body fails with', async () => {
      const f = await make();
      const err = await rejected(f.storage.append(ref, failing([bytes('ab')], new UploadServerError('TIMEOUT')), { start: 0, maxBytes: 100 }));
      expect(err).toMatchObject({ code: 'TIMEOUT', offset: 2 });
      await f.cleanup();
    });

    it('appends a digest-checked body only when it matches', async () => {
      const f = await make();
      await f.storage.append(ref, chunks(bytes('head-')), { start: 0, maxBytes: 100 });
      const good = bytes('body');
      expect(await rejected(f.storage.append(ref, chunks(bytes('bo'), bytes('dY')), { start: 5, maxBytes: 100, digest: digest(good) }))).toMatchObject({ code: 'DIGEST_MISMATCH', offset: 5 });
      expect((await f.storage.status(ref))?.offset).toBe(5);
      expect(await f.storage.append(ref, chunks(bytes('bo'), bytes('dy')), { start: 5, maxBytes: 100, digest: digest(good) })).toEqual({ offset: 9 });
      expect((await readAll(f.storage, ref))?.toString()).toBe('head-body');
      await f.cleanup();
    });

    it('drops a digest-checked body that fails midway', async () => {
      const f = await make();
      const data = bytes('0123456789');
      const err = await rejected(f.storage.append(ref, failing([data.subarray(0, 6)], new Error('cut')), { start: 0, maxBytes: 100, digest: digest(data) }));
      expect(err.offset).toBe(0);
      expect((await f.storage.status(ref))?.offset ?? 0).toBe(0);
      await f.cleanup();
    });

    it('stops at maxBytes, keeps what is below the limit, and says TOO_LARGE', async () => {
      const f = await make();
      const err = await rejected(f.storage.append(ref, chunks(bytes('abcd'), bytes('efgh')), { start: 0, maxBytes: 6 }));
      expect(err).toMatchObject({ code: 'TOO_LARGE', offset: 6 });
      expect((await readAll(f.storage, ref))?.toString()).toBe('abcdef');
      await f.cleanup();
    });

    it('refuses appends to and removal of a completed upload', async () => {
      const f = await make();
      await f.storage.append(ref, chunks(bytes('done')), { start: 0, maxBytes: 10 });
      await f.storage.complete(ref);
      expect(await rejected(f.storage.append(ref, chunks(bytes('x')), { start: 4, maxBytes: 10 }))).toMatchObject({ code: 'ALREADY_COMPLETE', offset: 4 });
      expect(await rejected(f.storage.remove(ref))).toMatchObject({ code: 'ALREADY_COMPLETE' });
      await f.cleanup();
    });

    it('removes a partial upload, idempotently', async () => {
      const f = await make();
      await f.storage.append(ref, chunks(bytes('partial')), { start: 0, maxBytes: 10 });
      expect(await f.storage.remove(ref)).toBe(true);
      expect(await f.storage.status(ref)).toBeUndefined();
      expect(await f.storage.remove(ref)).toBe(false);
      await f.cleanup();
    });

    it('keeps namespaces apart', async () => {
      const f = await make();
      const other: UploadRef = { namespace: 'other', id: ref.id };
      await f.storage.append(ref, chunks(bytes('mine')), { start: 0, maxBytes: 10 });
      expect(await f.storage.status(other)).toBeUndefined();
      await f.storage.append(other, chunks(bytes('theirs!')), { start: 0, maxBytes: 10 });
      expect((await readAll(f.storage, ref))?.toString()).toBe('mine');
      expect((await readAll(f.storage, other))?.toString()).toBe('theirs!');
      await f.cleanup();
    });

    it('sweeps partial uploads untouched since the cut-off, and nothing else', async () => {
      const f = await make();
      const stale: UploadRef = { namespace: 'ns', id: 'stale' };
      const done: UploadRef = { namespace: 'ns', id: 'done' };
      await f.storage.append(stale, chunks(bytes('old')), { start: 0, maxBytes: 10 });
      await f.storage.append(done, chunks(bytes('fin')), { start: 0, maxBytes: 10 });
      await f.storage.complete(done);
      const { claim, held, claimed } = recordingClaim();
      expect(await f.storage.sweep(Date.now() - 60_000, claim)).toBe(0);
      expect(await f.storage.sweep(Date.now() + 60_000, claim)).toBe(1);
      expect(claimed).toContain(storageKey(stale));
      expect(held.size).toBe(0);
      expect(await f.storage.status(stale)).toBeUndefined();
      expect(await f.storage.status(done)).toMatchObject({ complete: true, offset: 3 });
      await f.cleanup();
    });

    it('sweeps nothing whose claim is refused (a writer holds it)', async () => {
      const f = await make();
      const busy: UploadRef = { namespace: 'ns', id: 'being-written' };
      const idle: UploadRef = { namespace: 'ns', id: 'idle' };
      await f.storage.append(busy, chunks(bytes('old')), { start: 0, maxBytes: 10 });
      await f.storage.append(idle, chunks(bytes('old')), { start: 0, maxBytes: 10 });
      const { claim, held } = recordingClaim(new Set([storageKey(busy)]));
      expect(await f.storage.sweep(Date.now() + 60_000, claim)).toBe(1);
      expect(held.size).toBe(0);
      expect(await f.storage.status(busy)).toMatchObject({ offset: 3, complete: false });
      expect(await f.storage.status(idle)).toBeUndefined();
      await f.cleanup();
    });

    it('refuses to complete an upload that holds less than its declared size (OFFSET_MISMATCH), freezing nothing', async () => {
      const f = await make();
      await f.storage.append(ref, chunks(bytes('hello')), { start: 0, size: 10, maxBytes: 10 });
      const err = await rejected(f.storage.complete(ref));
      expect([err.code, err.offset]).toEqual(['OFFSET_MISMATCH', 5]);
      expect(await f.storage.status(ref)).toMatchObject({ offset: 5, size: 10, complete: false });
      await f.storage.append(ref, chunks(bytes('world')), { start: 5, maxBytes: 5 });
      expect((await f.storage.complete(ref)).metadata).toMatchObject({ size: 10 });
      expect(String(await readAll(f.storage, ref))).toBe('helloworld');
      await f.cleanup();
    });

    it('completes idempotently: a second complete() returns what the first stored', async () => {
      const f = await make();
      await f.storage.append(ref, chunks(bytes('once')), { start: 0, name: 'n.txt', maxBytes: 10 });
      const first = await f.storage.complete(ref);
      f.advance(60_000);
      const again = await f.storage.complete(ref);
      expect(again).toEqual(first);
      await f.cleanup();
    });

    it('adds a safeName beside the name kept as sent', async () => {
      const f = await make();
      const name = '../..\\evil\u202Egnp.exe\r\n';
      await f.storage.append(ref, chunks(bytes('x')), { start: 0, name, maxBytes: 10 });
      const done = await f.storage.complete(ref);
      expect(done.metadata.name).toBe(name);
      expect(done.metadata.safeName).toBe('evilgnp.exe__');
      await f.cleanup();
    });

    it("reports what each namespace's unfinished uploads hold, a declared size counting in full", async () => {
      const f = await make();
      const a: UploadRef = { namespace: 'ns', id: 'a' };
      const b: UploadRef = { namespace: 'ns', id: 'b' };
      const c: UploadRef = { namespace: 'other', id: 'a' };
      expect(await f.storage.usage('ns')).toEqual({ uploads: 0, bytes: 0 });
      await f.storage.append(a, chunks(bytes('12345')), { start: 0, maxBytes: 100 });
      await f.storage.append(b, chunks(bytes('12')), { start: 0, size: 50, maxBytes: 50 });
      await f.storage.append(c, chunks(bytes('1')), { start: 0, maxBytes: 100 });
      expect(await f.storage.usage('ns')).toEqual({ uploads: 2, bytes: 55 });
      expect(await f.storage.usage('other')).toEqual({ uploads: 1, bytes: 1 });
      await f.storage.append(a, chunks(bytes('678')), { start: 5, maxBytes: 100 });
      expect(await f.storage.usage('ns')).toEqual({ uploads: 2, bytes: 58 });
      if (f.reopen) expect(await f.reopen().usage('ns')).toEqual({ uploads: 2, bytes: 58 });
      await f.storage.complete(a);
      expect(await f.storage.usage('ns')).toEqual({ uploads: 1, bytes: 50 });
      await f.storage.remove(b);
      expect(await f.storage.usage('ns')).toEqual({ uploads: 0, bytes: 0 });
      expect(await f.storage.sweep(Date.now() + 60_000, recordingClaim().claim)).toBe(1);
      expect(await f.storage.usage('other')).toEqual({ uploads: 0, bytes: 0 });
      await f.cleanup();
    });

    it('lists completed uploads awaiting onComplete until markNotified(), across a restart', async () => {
      const f = await make();
      const done: UploadRef = { namespace: 'ns', id: 'done' };
      const partial: UploadRef = { namespace: 'ns', id: 'partial' };
      await f.storage.append(done, chunks(bytes('fin')), { start: 0, maxBytes: 10 });
      await f.storage.append(partial, chunks(bytes('par')), { start: 0, maxBytes: 10 });
      expect(await collect(f.storage.unnotified())).toEqual([]);
      const completed = await f.storage.complete(done);
      expect(await collect(f.storage.unnotified())).toEqual([completed]);
      if (f.reopen) expect(await collect(f.reopen().unnotified())).toEqual([completed]);
      await f.storage.markNotified(done);
      expect(await collect(f.storage.unnotified())).toEqual([]);
      if (f.reopen) expect(await collect(f.reopen().unnotified())).toEqual([]);
      // Repeating it, or for an unknown upload, is harmless.
      await f.storage.markNotified(done);
      await f.storage.markNotified({ namespace: 'ns', id: 'never' });
      await f.cleanup();
    });
  });
}
