// The static pages the client tests load: a file picker plus tus-js-client's own browser build, and
// a file picker plus Uppy (bundled here with vite). Written to a temp folder our server serves.
import { copyFile, mkdir, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { build } from 'vite';

const require = createRequire(import.meta.url);
const PICKER = '<!doctype html><meta charset="utf-8"><title>interop</title><body data-ready="true"><input type="file" id="file">';

export async function writeClientPages(dir: string): Promise<void> {
  await mkdir(dir, { recursive: true });
  await copyFile(require.resolve('tus-js-client/dist/tus.min.js'), join(dir, 'tus.min.js'));
  await writeFile(join(dir, 'tus.html'), `${PICKER}<script src="/tus.min.js"></script>`);
  await build({
    configFile: false,
    logLevel: 'warn',
    build: {
      outDir: dir,
      emptyOutDir: false,
      minify: false,
      lib: { entry: join(import.meta.dirname, 'uppy-page.ts'), formats: ['iife'], name: 'UppyPage', fileName: () => 'uppy.js' },
    },
  });
  await writeFile(join(dir, 'uppy.html'), `${PICKER}<script src="/uppy.js"></script>`);
}
