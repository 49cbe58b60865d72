// The package as a user's Node gets it: every entry loads where it should, by name, from the build.
import { execFileSync } from 'node:child_process';
import { mkdtemp, mkdir, readFile, readdir, rm, symlink, writeFile } from 'node:fs/promises';
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
  await mkdir(join(REPO, '.tmp'), { recursive: true });
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
       const e = await m.createUploader().catch((e) => e);
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

  it('the React entry imports in Node and renders on the server (react-dom/server) without touching a browser API', () => {
    // From the repository, where react resolves as in an app that installed both.
    const out = execFileSync(
      process.execPath,
      [
        '--input-type=module',
        '-e',
        `const { createElement } = await import('react');
         const { renderToString } = await import('react-dom/server');
         const { UploaderProvider, useUploads, useUploader } = await import('resilient-upload/react');
         function List() { const { status } = useUploader(); return createElement('p', null, status + ' ' + useUploads().length); }
         console.log(renderToString(createElement(UploaderProvider, null, createElement(List))));`,
      ],
      { cwd: REPO, encoding: 'utf8' },
    );
    expect(out.trim()).toBe('<p>connecting 0</p>');
  });

  it.each(['nodenext', 'bundler'] as const)('every entry is typed for a consumer by its name (moduleResolution %s)', async (resolution) => {
    // Inside the repository (ignored by git) so that react, @types and the package resolve as installed.
    const dir = await mkdtemp(join(REPO, '.tmp', 'consumer-'));
    try {
      await writeFile(
        join(dir, 'tsconfig.json'),
        JSON.stringify({
          compilerOptions: {
            target: 'ES2022',
            module: resolution === 'bundler' ? 'ESNext' : 'NodeNext',
            moduleResolution: resolution,
            lib: ['ES2022', 'DOM', 'DOM.Iterable'],
            types: ['node'],
            strict: true,
            noEmit: true,
            // Our declarations were checked when built; this checks what a consumer resolves.
            skipLibCheck: true,
          },
          files: ['main.ts'],
        }),
      );
      await writeFile(join(dir, 'package.json'), '{ "type": "module" }');
      await writeFile(
        join(dir, 'main.ts'),
        `import { createUploader, UploadError, type UploaderOptions, type UploadView } from 'resilient-upload';
         import { UploaderProvider, useUploads, type UploadItem } from 'resilient-upload/react';
         import { installUploader, type InstallOptions } from 'resilient-upload/sw';
         import { createUploadHandler, type UploadServerOptions } from 'resilient-upload/server';
         import 'resilient-upload/resilient-upload-sw.js';
         const options: UploaderOptions = { registration: 'ready', endpoint: '/files' };
         const install: InstallOptions = { skipWaiting: false };
         const server: UploadServerOptions = { uploadDir: '/tmp/x' };
         export const checks = [createUploader, UploadError, UploaderProvider, useUploads, installUploader, createUploadHandler, options, install, server];
         export type Checks = [UploadView, UploadItem];
         // @ts-expect-error: the option does not exist, so the types are real, not any
         export const wrong: UploaderOptions = { nonsense: 1 };`,
      );
      const tsc = join(REPO, 'node_modules/typescript/bin/tsc');
      const result = execFileSync(process.execPath, [tsc, '-p', dir], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
      expect(result).toBe('');
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
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
