// tus-js-client 4.x (the reference tus client) in Node against our server's /files/: a whole
// upload with metadata, uploads cut by a bad network that it resumes by itself, and a resume
// across client restarts through findPreviousUploads and its URL storage.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import * as tus from 'tus-js-client';
import { Upload, type UploadOptions, type UrlStorage } from 'tus-js-client';
import type { CompletedUpload } from '../../server/index.js';
import { startFaultProxy, type FaultProxy } from '../../lab/fault-proxy.js';
import { until } from '../../lab/poll.js';
import { startTestServer, type TestServer } from '../helpers/server.js';
import { randomData, sha256 } from './client.js';

// In Node tus-js-client exports FileUrlStorage (a JSON file), which its typings do not declare.
const { FileUrlStorage } = tus as unknown as { FileUrlStorage: new (path: string) => UrlStorage };

let srv: TestServer;
let proxy: FaultProxy;
const completed: CompletedUpload[] = [];
beforeAll(async () => {
  srv = await startTestServer({ onComplete: (info) => void completed.push(info) });
  proxy = await startFaultProxy({ targetPort: srv.port });
});
afterAll(async () => {
  await proxy.close();
  await srv.close();
});

function upload(data: Buffer, options: Partial<UploadOptions>): { done: Promise<string>; instance: Upload } {
  let instance!: Upload;
  const done = new Promise<string>((resolve, reject) => {
    instance = new Upload(data, {
      endpoint: `${proxy.url}/files/`,
      retryDelays: [0, 50, 100, 200, 400, 800],
      ...options,
      onSuccess: () => resolve(instance.url!),
      onError: reject,
    });
    instance.start();
  });
  return { done, instance };
}

async function stored(url: string): Promise<CompletedUpload> {
  const id = `@files/${new URL(url).pathname.split('/').pop()}`;
  return until('onComplete', () => completed.find((c) => c.metadata.id === id));
}

describe('tus-js-client in Node', () => {
  it('uploads in chunks with metadata; the server keeps the file byte for byte with name and type', async () => {
    const data = randomData(700_000);
    const { done } = upload(data, { chunkSize: 256 * 1024, metadata: { filename: 'chart.png', filetype: 'image/png' } });
    const done_ = await stored(await done);
    expect(done_.metadata).toMatchObject({ name: 'chart.png', type: 'image/png', size: data.length });
    expect(sha256(await readFile(done_.path))).toBe(sha256(data));
  });

  it('resumes after connections are cut mid-PATCH (HEAD, then the rest), uploadDataDuringCreation included', async () => {
    for (const uploadDataDuringCreation of [false, true]) {
      const data = randomData(1_500_000);
      const before = proxy.stats();
      proxy.cutAt([before.clientToServerBytes + 400_000, before.clientToServerBytes + 1_000_000]);
      const { done } = upload(data, { uploadDataDuringCreation, metadata: { filename: `cut-${uploadDataDuringCreation}.bin` } });
      const record = await stored(await done);
      expect(proxy.stats().cuts - before.cuts).toBe(2);
      expect(sha256(await readFile(record.path))).toBe(sha256(data));
    }
  });

  it('findPreviousUploads + resumeFromPreviousUpload after the client was stopped mid-upload', async () => {
    const urlStorage = new FileUrlStorage(join(srv.dir, 'tus-urls.json'));
    const data = randomData(2_000_000);
    const options = { chunkSize: 200_000, urlStorage, storeFingerprintForResuming: true, removeFingerprintOnSuccess: true, metadata: { filename: 'resume.bin' } };
    let progressed = 0;
    // Slow enough that the upload is still running when the client stops.
    proxy.setRate(1_000_000);
    const first = upload(data, { ...options, onChunkComplete: (_c, sent) => void (progressed = sent) });
    first.done.catch(() => undefined);
    await until('some chunks on the server', () => progressed >= 600_000);
    await first.instance.abort(false);
    proxy.setRate(undefined);

    const second = new Upload(data, { endpoint: `${proxy.url}/files/`, ...options });
    const previous = await second.findPreviousUploads();
    expect(previous).toHaveLength(1);
    second.resumeFromPreviousUpload(previous[0]!);
    const offsets: number[] = [];
    const url = await new Promise<string>((resolve, reject) => {
      second.options.onSuccess = () => resolve(second.url!);
      second.options.onError = reject;
      second.options.onProgress = (sent) => offsets.push(sent);
      second.start();
    });
    expect(url).toBe(first.instance.url);
    // It continued where the server was, not from zero.
    expect(Math.min(...offsets)).toBeGreaterThanOrEqual(600_000);
    const record = await stored(url);
    expect(sha256(await readFile(record.path))).toBe(sha256(data));
    expect(await second.findPreviousUploads()).toEqual([]);
  });

  it('a terminated upload (abort(true)) is gone on the server', async () => {
    const data = randomData(1_000_000);
    let sent = 0;
    proxy.setRate(500_000);
    const { done, instance } = upload(data, { chunkSize: 100_000, onChunkComplete: (_c, s) => void (sent = s) });
    done.catch(() => undefined);
    await until('a chunk', () => sent > 0);
    await instance.abort(true);
    proxy.setRate(undefined);
    const head = await fetch(instance.url!, { method: 'HEAD', headers: { 'Tus-Resumable': '1.0.0' } });
    expect(head.status).toBe(404);
  });

  it("its IETF drafts (interop versions 5 and 6) are refused clearly: 412 naming version 8", async () => {
    // `protocol` is in tus-js-client 4.3's options, not yet in its typings.
    const { done } = upload(randomData(10), { protocol: 'ietf-draft-05', retryDelays: [] } as Partial<UploadOptions>);
    const error = await done.then(() => undefined, (e: unknown) => e as Error);
    expect(error?.message).toContain('412');
    expect(error?.message).toContain('interop version 8');
  });
});
