import { defineConfig } from 'vitest/config';
import { resolve } from 'node:path';

const root = import.meta.dirname;

/** React 18 and react-dom 18 of the test/react18 workspace, for the binding's tests under 18. */
const react18 = (name: 'react' | 'react-dom'): string => resolve(root, 'test/react18/node_modules', name);

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
            provide: { reactMajor: 19 },
            include: ['test/**/*.test.ts'],
            exclude: ['test/browser/**', 'test/s3/**', 'test/interop/**', 'test/examples/**', 'node_modules/**'],
            testTimeout: 60_000,
            hookTimeout: 60_000,
          },
        },
        {
          extends: true,
          // The same binding tests with React 18: the binding, the tests and react-dom all get 18.
          resolve: {
            alias: [
              { find: /^react$/, replacement: react18('react') },
              { find: /^react\/(.*)$/, replacement: `${react18('react')}/$1` },
              { find: /^react-dom$/, replacement: react18('react-dom') },
              { find: /^react-dom\/(.*)$/, replacement: `${react18('react-dom')}/$1` },
            ],
          },
          test: {
            name: 'react18',
            root,
            include: ['test/react/**/*.test.ts'],
            provide: { reactMajor: 18 },
          },
        },
        {
          extends: true,
          test: {
            // Against a real Ceph cluster that the global setup starts once and stops after.
            name: 's3',
            root,
            include: ['test/s3/**/*.test.ts'],
            globalSetup: ['test/s3/global-setup.ts'],
            // After the unit and browser projects: Ceph and three server processes would take the
            // two cores from their timing-sensitive tests.
            sequence: { groupOrder: 1 },
            testTimeout: 120_000,
            hookTimeout: 120_000,
          },
        },
        {
          extends: true,
          test: {
            // The examples/ apps built and driven in one Chromium, against one server.
            name: 'examples',
            root,
            include: ['test/examples/**/*.test.ts'],
            // Last: never two browsers at once, and not beside Ceph, on two cores.
            sequence: { groupOrder: 2 },
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
            // One browser at a time: the machine has two cores.
            fileParallelism: false,
            globalSetup: ['test/browser/global-setup.ts'],
            testTimeout: 180_000,
            hookTimeout: 120_000,
          },
        },
        {
          extends: true,
          test: {
            // Chromium against tus and IETF draft peers (tus-js-client, Uppy, @tus/server).
            name: 'interop',
            root,
            include: ['test/interop/**/*.test.ts'],
            fileParallelism: false,
            // After the examples: never two browsers at once.
            sequence: { groupOrder: 3 },
            testTimeout: 180_000,
            hookTimeout: 120_000,
          },
        },
      ],
    },
  };
});
