// The CLI (`resilient-upload-server`, what `npm start` runs) configured from the environment: --help
// lists every variable with its default, malformed values are refused by name, CORS is configurable.
import { afterEach, describe, expect, it } from 'vitest';
import { execFile, spawn } from 'node:child_process';
import { mkdir, mkdtemp, rm, unlink, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SETTINGS, SettingError, optionsFromEnv } from '../../server/cli-config.js';
import { spawnListening, type Listening } from '../../lab/processes.js';
import { call } from './client.js';

const REPO = join(import.meta.dirname, '..', '..');
const CLI = join(REPO, 'server', 'cli.ts');
const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

function runToExit(args: string[], env: Record<string, string>): Promise<{ code: number | null; out: string; err: string }> {
  const child = spawn(process.execPath, ['--import', 'tsx', CLI, ...args], { cwd: REPO, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  cleanups.push(() => void child.kill('SIGKILL'));
  return new Promise((resolve) => {
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
      // It started a server instead of exiting: report that at once.
      if (/listening on/.test(out)) resolve({ code: null, out, err });
    });
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    child.once('exit', (code) => resolve({ code, out, err }));
  });
}

async function tempDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'ru-cli-'));
  cleanups.push(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

const VARIABLES = [
  'PORT',
  'HOST',
  'UPLOAD_DIR',
  'STORAGE_URL',
  'STATIC_DIR',
  'MAX_UPLOAD_SIZE',
  'IETF_MIN_APPEND_SIZE',
  'IETF_MAX_APPEND_SIZE',
  'CORS_ORIGINS',
  'CORS_ALLOWED_HEADERS',
  'HEADERS_TIMEOUT_MS',
  'IDLE_TIMEOUT_MS',
  'MIN_BYTES_PER_SECOND',
  'RATE_WINDOW_MS',
  'KEEP_ALIVE_TIMEOUT_MS',
  'TAKEOVER_TIMEOUT_MS',
  'CLOSE_TIMEOUT_MS',
  'STALE_AFTER_MS',
  'SWEEP_INTERVAL_MS',
  'MAX_PARTIAL_UPLOADS',
  'MAX_PARTIAL_BYTES',
];

describe('settings from the environment', () => {
  it('the table behind --help is the list the README and this test know', () => {
    expect(SETTINGS.map((x) => x.name)).toEqual(VARIABLES);
  });

  it('maps each variable to its option', () => {
    const o = optionsFromEnv(
      {
        PORT: '9000',
        HOST: '::',
        UPLOAD_DIR: '/srv/up',
        STATIC_DIR: '/srv/web',
        MAX_UPLOAD_SIZE: '1048576',
        IETF_MIN_APPEND_SIZE: '65536',
        IETF_MAX_APPEND_SIZE: '8388608',
        CORS_ORIGINS: 'https://a.example, https://b.example:8443',
        CORS_ALLOWED_HEADERS: 'X-Request-Id, X-Tenant',
        HEADERS_TIMEOUT_MS: '15000',
        IDLE_TIMEOUT_MS: '20000',
        MIN_BYTES_PER_SECOND: '0',
        RATE_WINDOW_MS: '30000',
        KEEP_ALIVE_TIMEOUT_MS: '4000',
        TAKEOVER_TIMEOUT_MS: '2000',
        CLOSE_TIMEOUT_MS: '1000',
        STALE_AFTER_MS: '3600000',
        SWEEP_INTERVAL_MS: '0',
        MAX_PARTIAL_UPLOADS: '100',
        MAX_PARTIAL_BYTES: '1073741824',
      },
      '/default/web',
    );
    expect(o).toEqual({
      port: 9000,
      host: '::',
      uploadDir: '/srv/up',
      staticDir: '/srv/web',
      maxUploadSize: 1048576,
      ietfAppendSize: { min: 65536, max: 8388608 },
      corsOrigins: ['https://a.example', 'https://b.example:8443'],
      corsAllowedHeaders: ['X-Request-Id', 'X-Tenant'],
      headersTimeoutMs: 15000,
      idleTimeoutMs: 20000,
      minBytesPerSecond: 0,
      rateWindowMs: 30000,
      keepAliveTimeoutMs: 4000,
      takeoverTimeoutMs: 2000,
      closeTimeoutMs: 1000,
      staleAfterMs: 3600000,
      sweepIntervalMs: 0,
      namespaceLimits: { maxPartialUploads: 100, maxPartialBytes: 1073741824 },
    });
    expect(optionsFromEnv({ CORS_ORIGINS: '*' }, '/web').corsOrigins).toBe('*');
    expect(optionsFromEnv({}, '/web')).toEqual({ port: 8080, uploadDir: './uploads', staticDir: '/web' });
  });

  const bad: Array<[string, string]> = [
    ['PORT', '70000'],
    ['PORT', '-1'],
    ['MAX_UPLOAD_SIZE', '10GB'],
    ['IETF_MIN_APPEND_SIZE', '0'],
    ['HEADERS_TIMEOUT_MS', '0'],
    ['IDLE_TIMEOUT_MS', '1e3'],
    ['CORS_ORIGINS', 'https://a.example/'],
    ['CORS_ORIGINS', 'a.example'],
    ['MAX_PARTIAL_UPLOADS', '0'],
  ];
  it.each(bad)('refuses %s=%j, naming it', (name, value) => {
    expect(() => optionsFromEnv({ [name]: value }, '/web')).toThrow(SettingError);
    expect(() => optionsFromEnv({ [name]: value }, '/web')).toThrow(name);
  });
});

describe('resilient-upload-server --help', () => {
  it('prints every variable with its default and exits without serving', async () => {
    const { code, out } = await runToExit(['--help'], {});
    expect(code).toBe(0);
    expect(out).not.toMatch(/listening on/);
    for (const name of VARIABLES) expect(out).toMatch(new RegExp(`^\\s*${name}\\b.*default`, 'm'));
    expect(out).toMatch(/no authoriz/i);
  });

  it('refuses a malformed value, naming the variable, and an unknown argument', async () => {
    const bad = await runToExit([], { PORT: '0', HEADERS_TIMEOUT_MS: '20s' });
    expect(bad.code).toBe(2);
    expect(bad.err).toMatch(/HEADERS_TIMEOUT_MS/);
    const unknown = await runToExit(['--port', '80'], {});
    expect(unknown.code).toBe(2);
    expect(unknown.err).toMatch(/--help/);
  });
});

describe('CORS_ORIGINS', () => {
  it('answers preflights for the listed origins, allowing Authorization', async () => {
    const dir = await tempDir();
    const cli: Listening = await spawnListening(process.execPath, ['--import', 'tsx', CLI], {
      PORT: '0',
      HOST: '127.0.0.1',
      UPLOAD_DIR: join(dir, 'uploads'),
      STATIC_DIR: join(dir, 'none'),
      CORS_ORIGINS: 'https://a.example, https://b.example',
    });
    cleanups.push(() => cli.kill('SIGKILL'));
    const pre = await call(`${cli.url}/upload`, {
      method: 'OPTIONS',
      headers: { Origin: 'https://b.example', 'Access-Control-Request-Method': 'POST', 'Access-Control-Request-Headers': 'authorization' },
    });
    expect(pre.status).toBe(204);
    expect(pre.headers.get('access-control-allow-origin')).toBe('https://b.example');
    expect(pre.headers.get('access-control-allow-headers')?.toLowerCase()).toContain('authorization');
    const other = await call(`${cli.url}/upload`, { method: 'OPTIONS', headers: { Origin: 'https://c.example', 'Access-Control-Request-Method': 'POST' } });
    expect(other.headers.get('access-control-allow-origin')).toBeNull();
  });
});

describe('npm start', () => {
  /** What scripts/build-if-stale.mjs --check says about a checkout at `root`. */
  function check(root: string): Promise<{ code: number; out: string }> {
    return new Promise((resolve) => {
      execFile(process.execPath, [join(REPO, 'scripts', 'build-if-stale.mjs'), '--check'], { cwd: root }, (err, stdout) =>
        resolve({ code: err ? Number((err as { code?: number }).code ?? 1) : 0, out: stdout.trim() }),
      );
    });
  }

  it('builds only when a source is newer than the build, or part of the build is missing', async () => {
    const root = await tempDir();
    const at = (seconds: number): Date => new Date(Date.UTC(2026, 0, 1, 0, 0, seconds));
    const write = async (path: string, when: Date): Promise<void> => {
      await mkdir(join(root, path, '..'), { recursive: true });
      await writeFile(join(root, path), 'x');
      await utimes(join(root, path), when, when);
    };
    for (const source of ['src/index.ts', 'sw/engine.ts', 'server/http.ts', 'demo/main.ts', 'package.json', 'vite.config.ts']) await write(source, at(0));
    const outputs = ['dist/lib/src/index.js', 'dist/lib/src/react/index.js', 'dist/lib/sw/index.js', 'dist/lib/server/cli.js', 'dist/demo/index.html', 'dist/demo/resilient-upload-sw.js'];
    expect(await check(root)).toEqual({ code: 1, out: 'dist/lib/src/index.js is missing' });
    for (const output of outputs) await write(output, at(10));
    expect(await check(root)).toEqual({ code: 0, out: 'fresh' });
    await write('server/deep/nested/store.ts', at(20));
    expect(await check(root)).toEqual({ code: 1, out: 'sources changed since the last build' });
    for (const output of outputs) await write(output, at(30));
    expect(await check(root)).toEqual({ code: 0, out: 'fresh' });
    await write('package-lock.json', at(40));
    expect((await check(root)).code).toBe(1);
    for (const output of outputs) await write(output, at(50));
    await unlink(join(root, 'dist/demo/resilient-upload-sw.js'));
    expect(await check(root)).toEqual({ code: 1, out: 'dist/demo/resilient-upload-sw.js is missing' });
  });
});
