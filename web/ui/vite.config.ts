import { defineConfig } from 'vite';
import { svelte } from '@sveltejs/vite-plugin-svelte';

// The build goes straight into the Go package that embeds it
// (internal/web/dist). CI rebuilds and fails when the committed files differ,
// so the output must depend only on the sources: content-hashed names, no
// timestamps, no absolute paths, no inlined build environment.
export default defineConfig({
  plugins: [svelte()],
  base: '/',
  build: {
    outDir: '../../internal/web/dist',
    emptyOutDir: true,
    target: 'es2022',
    assetsDir: 'assets',
    // Never inline assets as data: URLs: the CSP (default-src 'self') is
    // simpler to reason about when every asset is a file from our origin.
    assetsInlineLimit: 0,
    sourcemap: false,
    reportCompressedSize: true,
    // One stylesheet: the shell is small, and a single file is one request.
    cssCodeSplit: false,
    modulePreload: { polyfill: false },
  },
  server: {
    // `npm run dev` against a running mailport (default demo port).
    proxy: {
      '/api': process.env.MAILPORT_URL ?? 'http://127.0.0.1:10080',
    },
  },
});
