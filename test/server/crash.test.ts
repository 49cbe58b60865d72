// Crash safety: a server process killed with SIGKILL mid-upload, restarted on the same directory.
import { afterAll, beforeAll, expect, it } from 'vitest';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { storageKey } from '../../server/index.js';
import { LAYOUT, digestOf, listFiles, openPost, post, randomData, sha256, status, waitFor } from './client.js';

const root = join(import.meta.dirname, '..', '..');
let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'ru-crash-'));
});
const children = new Set<ChildProcess>();
afterAll(async () => {
  // A failed assertion must not leave a server running.
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  await rm(dir, { recursive: true, force: true });
});

interface Child {
  proc: ChildProcess;
  url: string;
}

/** Runs the CLI from source with node itself (not the tsx wrapper), so SIGKILL hits the server. */
async function startChild(): Promise<Child> {
  const proc = spawn(process.execPath, ['--import', 'tsx', join(root, 'server', 'cli.ts')], {
    cwd: root,
    env: { ...process.env, PORT: '0', HOST: '127.0.0.1', UPLOAD_DIR: join(dir, 'uploads'), STATIC_DIR: join(dir, 'none') },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  children.add(proc);
  const url = await new Promise<string>((resolve, reject) => {
    let out = '';
    proc.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      const m = /listening on (http:\/\/\S+)/.exec(out);
      if (m) resolve(m[1]!);
    });
    proc.once('exit', (code) => reject(new Error(`server exited early (${code})`)));
  });
  return { proc, url };
}

async function kill9(child: Child): Promise<void> {
  const exited = new Promise((r) => child.proc.once('exit', r));
  child.proc.kill('SIGKILL');
  await exited;
}

it('SIGKILL mid-upload, restart, resume: status never exceeds what was sent, final file identical', async () => {
  const id = 'crash-me.bin-8388608-1';
  const data = randomData(8 * 1024 * 1024);
  const headers = { 'X-File-Id': id, 'X-File-Size': String(data.length) };
  const partial = join(dir, 'uploads', 'partial', storageKey({ namespace: '', id }));
  let sent = 0;
  for (const fraction of [0.2, 0.35, 0.5]) {
    const child = await startChild();
    const start = +(await status(child.url, id)).body;
    expect(start).toBeLessThanOrEqual(sent);
    // More than one write batch (1 MiB) past `start`, so the server writes before the kill.
    const target = Math.max(Math.floor(data.length * fraction), start + 1.5 * 1024 * 1024);
    const conn = await openPost(child.url, { ...headers, 'X-Start-Byte': String(start) }, data.length - start, data.subarray(start, target));
    sent = Math.max(sent, target);
    // Kill while the body is still open, once the server has written part of it, at a random moment.
    await waitFor(async () => ((await stat(partial).catch(() => undefined))?.size ?? 0) > start);
    await new Promise((r) => setTimeout(r, Math.random() * 100));
    await kill9(child);
    conn.socket.destroy();
  }

  // A digest-checked chunk in flight when the process dies: after restart it must not count.
  let child = await startChild();
  const before = +(await status(child.url, id)).body;
  expect(before).toBeLessThanOrEqual(sent);
  const chunk = data.subarray(before, before + 2.5 * 1024 * 1024);
  const conn = await openPost(child.url, { ...headers, 'X-Start-Byte': String(before), 'Content-Digest': digestOf(chunk) }, chunk.length, chunk.subarray(0, 2 * 1024 * 1024));
  // Unverified bytes have reached the data file (status still says `before`): now die.
  await waitFor(async () => (await stat(partial)).size > before);
  expect(+(await status(child.url, id)).body).toBe(before);
  await kill9(child);
  conn.socket.destroy();

  child = await startChild();
  const after = +(await status(child.url, id)).body;
  expect(after).toBe(before);
  const done = await post(child.url, id, after, data.subarray(after), { 'X-File-Size': String(data.length) });
  expect(done).toMatchObject({ status: 200, complete: true });
  const stored = await readFile(join(dir, 'uploads', 'complete', storageKey({ namespace: '', id })));
  expect(sha256(stored)).toBe(sha256(data));
  for (const f of await listFiles(join(dir, 'uploads'))) expect(f).toMatch(LAYOUT);

  // SIGTERM: a clean exit with code 0.
  const exited = new Promise<number | null>((r) => child.proc.once('exit', (code) => r(code)));
  child.proc.kill('SIGTERM');
  expect(await exited).toBe(0);
});
