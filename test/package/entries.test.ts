// The package as a user's Node gets it: every entry loads where it should, by name, from the build.
import { execFileSync } from 'node:child_process';
import { mkdtemp, mkdir, readFile, readdir, rm, symlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const REPO = resolve(import.meta.dirname, '../..');
let app: string;

/** Runs a script in a project that has the package installed (a link to this repo's build). */
function run(file: 'main.mjs' | 'main.cjs', code: string): string {
  return execFileSync(process.execPath, ['--input-type=' + (file.endsWith('.mjs') ? 'module' : 'commonjs'), '-e', code], { cwd: app, encoding: 'utf8' });
}

beforeAll(async () => {
  app = await mkdtemp(join(tmpdir(), 'ru-app-'));
  await mkdir(join(app, 'node_modules'));
  await symlink(REPO, join(app, 'node_modules', 'resilient-upload'), 'dir');
});
afterAll(async () => {
  await rm(app, { recursive: true, force: true });
});

describe('package entries in Node', () => {
  it('the page entry imports in Node (server-side rendering, test runners); createUploader rejects with NO_SERVICE_WORKER', () => {
    const out = run(
      'main.mjs',
      `const m = await import('resilient-upload');
       const e = await m.createUploader({ serviceWorker: '/sw.js' }).catch((e) => e);
       console.log(JSON.stringify({ keys: Object.keys(m).sort(), code: e.code, name: e.name }));`,
    );
    const { keys, code, name } = JSON.parse(out) as { keys: string[]; code: string; name: string };
    expect(keys).toContain('createUploader');
    expect(keys).toContain('UploadError');
    expect({ code, name }).toEqual({ code: 'NO_SERVICE_WORKER', name: 'UploadError' });
  });

  it('the worker entry imports in Node too (nothing touches self until installUploader is called)', () => {
    const out = run('main.mjs', `const m = await import('resilient-upload/sw'); console.log(typeof m.installUploader);`);
    expect(out.trim()).toBe('function');
  });

  it('the server entry loads with import and with require (Node ≥ 20.19 requires ES modules)', () => {
    expect(run('main.mjs', `const m = await import('resilient-upload/server'); console.log(typeof m.createUploadHandler);`).trim()).toBe('function');
    expect(run('main.cjs', `console.log(typeof require('resilient-upload/server').createUploadHandler);`).trim()).toBe('function');
  });

  it('package.json is exported', () => {
    expect(run('main.cjs', `console.log(require('resilient-upload/package.json').name);`).trim()).toBe('resilient-upload');
  });

  it('every shipped source map carries its sources (they resolve without the .ts files)', async () => {
    const maps: string[] = [];
    const walk = async (dir: string): Promise<void> => {
      for (const entry of await readdir(dir, { withFileTypes: true })) {
        const path = join(dir, entry.name);
        if (entry.isDirectory()) await walk(path);
        else if (entry.name.endsWith('.map')) maps.push(path);
      }
    };
    await walk(join(REPO, 'dist'));
    expect(maps.length).toBeGreaterThan(20);
    for (const path of maps) {
      const map = JSON.parse(await readFile(path, 'utf8')) as { sources: string[]; sourcesContent?: (string | null)[] };
      expect(map.sourcesContent?.length, path).toBe(map.sources.length);
      expect(map.sourcesContent?.every((s) => typeof s === 'string' && s.length > 0), path).toBe(true);
    }
  });
});
