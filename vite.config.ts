import { defineConfig } from 'vitest/config';
import { resolve } from 'node:path';

const root = import.meta.dirname;

// `vite build` builds the demo page; `vite build --mode sw` builds the ready service worker
// as one classic script (dist/demo/resilient-upload-sw.js) so it also works with importScripts.
export default defineConfig(({ mode }) => {
  if (mode === 'sw') {
    return {
      publicDir: false,
      build: {
        outDir: resolve(root, 'dist/demo'),
        emptyOutDir: false,
        sourcemap: true,
        lib: {
          entry: resolve(root, 'sw/sw.ts'),
          formats: ['iife'],
          name: 'ResilientUploadSW',
          fileName: () => 'resilient-upload-sw.js',
        },
      },
    };
  }
  return {
    root: resolve(root, 'demo'),
    build: {
      outDir: resolve(root, 'dist/demo'),
      emptyOutDir: true,
      sourcemap: true,
    },
    test: {
      root,
      projects: [
        {
          extends: true,
          test: {
            name: 'unit',
            root,
            include: ['test/**/*.test.ts'],
            exclude: ['test/browser/**', 'test/examples/**', 'node_modules/**'],
            testTimeout: 60_000,
            hookTimeout: 60_000,
          },
        },
        {
          extends: true,
          test: {
            // The examples/ apps built and driven in one Chromium, against one server.
            name: 'examples',
            root,
            include: ['test/examples/**/*.test.ts'],
            // After the other projects: never two Chromiums at once on two cores.
            sequence: { groupOrder: 1 },
            testTimeout: 180_000,
            hookTimeout: 300_000,
          },
        },
        {
          extends: true,
          test: {
            name: 'browser',
            root,
            include: ['test/browser/**/*.test.ts'],
            // One Chromium at a time: the machine has two cores.
            fileParallelism: false,
            testTimeout: 180_000,
            hookTimeout: 120_000,
          },
        },
      ],
    },
  };
});
