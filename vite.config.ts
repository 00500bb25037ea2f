import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';
import { VitePWA } from 'vite-plugin-pwa';

const root = fileURLToPath(new URL('./app', import.meta.url));
const fromRoot = (p: string) => fileURLToPath(new URL(p, import.meta.url));

export const THEME_COLOR = '#1f2a44';

/**
 * Lit's decorators need TypeScript's legacy decorators and `useDefineForClassFields:
 * false` (fields assigned, not defined, so they do not shadow reactive accessors).
 * Shared with the component test runner, which mounts Vite too.
 */
export const litTransform = {
  decorator: { legacy: true },
  assumptions: { setPublicClassFields: true },
  typescript: { removeClassFieldsWithoutInitializer: true },
};

const MAIN = fromRoot('./app/main.ts');

/**
 * Everything main.ts imports statically goes into one chunk. Left alone, Rolldown splits
 * the modules that the lazy chunks (whispers, dialogs, files) share with the shell into
 * several small common chunks, all loaded before first paint anyway: more requests and
 * more gzip overhead on a slow phone network for the same code.
 */
function firstLoadChunk(id: string, ctx: { getModuleInfo(id: string): { importedIds: readonly string[] } | null }): string | null {
  const seen = new Set<string>();
  const queue = [MAIN];
  while (queue.length) {
    const next = queue.pop()!;
    if (seen.has(next)) continue;
    seen.add(next);
    queue.push(...(ctx.getModuleInfo(next)?.importedIds ?? []));
  }
  return seen.has(id) ? 'shell' : null;
}

export default defineConfig({
  root,
  oxc: litTransform,
  publicDir: fromRoot('./public'),
  build: {
    outDir: fromRoot('./dist/app'),
    emptyOutDir: true,
    target: 'es2022',
    // The first paint needs only the shell; keep the budget honest in `npm run bench`.
    modulePreload: { polyfill: false },
    rolldownOptions: { output: { codeSplitting: { groups: [{ name: firstLoadChunk }] } } },
  },
  // Module workers in the build as in dev (the private-room key derivation runs in one).
  worker: { format: 'es' },
  server: {
    // `npm run dev` serves the app with hot reload; the signal server runs separately.
    proxy: { '/ws': { target: 'ws://localhost:8080', ws: true } },
  },
  plugins: [
    VitePWA({
      strategies: 'injectManifest',
      srcDir: fromRoot('./sw'),
      filename: 'sw.ts',
      injectRegister: false,
      // The icons are already matched by globPatterns; listing them twice would duplicate precache entries.
      includeManifestIcons: false,
      registerType: 'prompt',
      manifest: {
        name: 'Wisp',
        short_name: 'Wisp',
        description: 'Self-hosted chat for homes, clubs and teams.',
        id: '/',
        start_url: '/',
        scope: '/',
        display: 'standalone',
        orientation: 'any',
        theme_color: THEME_COLOR,
        background_color: '#10151f',
        // Sharing a photo or file from another app opens Wisp to pick whom to send it to.
        share_target: {
          action: '/share',
          method: 'POST',
          enctype: 'multipart/form-data',
          params: { title: 'title', text: 'text', url: 'url', files: [{ name: 'files', accept: ['*/*'] }] },
        },
        icons: [
          { src: '/icons/icon-192.png', sizes: '192x192', type: 'image/png', purpose: 'any' },
          { src: '/icons/icon-512.png', sizes: '512x512', type: 'image/png', purpose: 'any' },
          { src: '/icons/icon-maskable-512.png', sizes: '512x512', type: 'image/png', purpose: 'maskable' },
        ],
      },
      injectManifest: {
        globPatterns: ['**/*.{js,css,html,svg,png}'],
        // The worker is registered as a classic script and bundled into one file either way.
        // The plugin's 'es' build sets Rolldown's deprecated `inlineDynamicImports` (a warning
        // on every build); its 'iife' build does not.
        rollupFormat: 'iife',
      },
      devOptions: { enabled: false },
    }),
  ],
});
