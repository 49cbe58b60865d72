// A store that is missing, refuses us or stops answering: one clear line at start, 503 with a
// reason during requests (transient for clients), never a 500 with a stack, nothing lost.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { startFaultProxy, type FaultProxy } from '../../lab/fault-proxy.js';
import { freePort, type Listening } from '../../lab/processes.js';
import { post, randomData, status } from '../server/client.js';
import { startInstance } from './instances.js';
import { freshPrefix, s3Env } from './s3-env.js';

const root = join(import.meta.dirname, '..', '..');

/** Runs the CLI until it exits; its exit code and everything it printed. */
function runToExit(env: Record<string, string>): Promise<{ code: number | null; output: string }> {
  const child = spawn(process.execPath, ['--import', 'tsx', join(root, 'server', 'cli.ts')], {
    env: { ...process.env, PORT: '0', HOST: '127.0.0.1', STATIC_DIR: join(root, 'no-static'), ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout.on('data', (d: Buffer) => (output += d.toString()));
  child.stderr.on('data', (d: Buffer) => (output += d.toString()));
  return new Promise((resolve) => {
    const timer = setTimeout(() => child.kill('SIGKILL'), 90_000);
    child.once('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, output });
    });
  });
}

/** Our own lines (the SDK may add its Node version notice). */
const ours = (output: string): string[] => output.split('\n').filter((l) => l.startsWith('resilient-upload'));

describe('refusing to start', () => {
  it.each([
    ['a missing bucket', () => ({ STORAGE_URL: 's3://no-such-bucket-here/x' }), /not starting: bucket no-such-bucket-here does not exist/],
    ['refused credentials', () => ({ STORAGE_URL: `s3://${s3Env().bucket}/x`, AWS_SECRET_ACCESS_KEY: 'wrong' }), /not starting: access to bucket .* denied/],
    ['an endpoint that does not answer', async () => ({ STORAGE_URL: `s3://${s3Env().bucket}/x`, AWS_ENDPOINT_URL: `http://127.0.0.1:${await freePort()}` }), /not starting: cannot reach the object store/],
    ['a STORAGE_URL that is not s3://', () => ({ STORAGE_URL: 'ftp://bucket/x' }), /STORAGE_URL must look like s3:\/\/<bucket>\/<prefix>/],
  ])('%s: exits non-zero with one clear line', async (_name, env, line) => {
    const { code, output } = await runToExit({ ...s3Env().env, ...(await env()) });
    expect(code).not.toBe(0);
    expect(ours(output)).toHaveLength(1);
    expect(ours(output)[0]).toMatch(line);
    expect(output).not.toMatch(/^\s+at /m);
  });
});

describe('the store stops answering during requests', () => {
  let proxy: FaultProxy;
  let node: Listening;
  beforeAll(async () => {
    const target = new URL(s3Env().env['AWS_ENDPOINT_URL']!);
    proxy = await startFaultProxy({ targetPort: Number(target.port) });
    // Only the endpoint differs from the cluster's variables: the instance reaches it through the proxy.
    node = await startInstance(freshPrefix('failures'), { AWS_ENDPOINT_URL: proxy.url });
  });
  afterAll(async () => {
    await node.kill('SIGKILL');
    await proxy.close();
  });

  it('answers 503 UNAVAILABLE with a reason, then carries on from the offset it had', async () => {
    const id = 'outage.bin';
    const data = randomData(3 * 1024 * 1024);
    expect(await post(node.url, id, 0, data.subarray(0, 1_000_000), { 'X-File-Size': String(data.length) })).toMatchObject({ status: 200, offset: 1_000_000 });
    await proxy.setOffline(true);
    for (const r of [await status(node.url, id), await post(node.url, id, 1_000_000, data.subarray(1_000_000), { 'X-File-Size': String(data.length) })]) {
      expect(r).toMatchObject({ status: 503, code: 'UNAVAILABLE' });
      expect(r.body).toMatch(/object store/);
      expect(r.body).not.toMatch(/\n\s+at /);
    }
    await proxy.setOffline(false);
    expect((await status(node.url, id)).body).toBe('1000000');
    expect(await post(node.url, id, 1_000_000, data.subarray(1_000_000), { 'X-File-Size': String(data.length) })).toMatchObject({ status: 200, complete: true });
  });
});
