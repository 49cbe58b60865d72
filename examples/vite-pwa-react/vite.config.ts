import react from '@vitejs/plugin-react';
import { defineConfig } from 'vite';
import { VitePWA } from 'vite-plugin-pwa';

export default defineConfig({
  plugins: [
    react(),
    VitePWA({
      // Our own worker (src/sw.ts): Workbox precaching plus the uploader.
      strategies: 'injectManifest',
      srcDir: 'src',
      filename: 'sw.ts',
      // A new version waits until the user accepts it (App.tsx shows the prompt).
      registerType: 'prompt',
      // The page registers through useRegisterSW (App.tsx); nothing injected into index.html.
      injectRegister: false,
      manifest: {
        name: 'Uploads',
        short_name: 'Uploads',
        start_url: '/',
        display: 'standalone',
        icons: [],
      },
      injectManifest: {
        globPatterns: ['**/*.{html,js,css}'],
      },
    }),
  ],
});
