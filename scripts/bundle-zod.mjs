// Replaces dist/core/zod.js (tsc's plain re-export of zod) with a bundle of only the names
// src/core/zod.ts lists: zod's package entry loads all of zod, its 60-odd locales included, on
// every rp command. esbuild, because it tree-shakes ES modules and is already what tsx runs on.
import { rm } from 'node:fs/promises';
import { build } from 'esbuild';

await build({
  entryPoints: ['src/core/zod.ts'],
  outfile: 'dist/core/zod.js',
  bundle: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  treeShaking: true,
  allowOverwrite: true,
  legalComments: 'inline',
  banner: {
    js: '// zod (MIT License, Colin McDonnell): only what src/core/zod.ts names; see scripts/bundle-zod.mjs',
  },
  logLevel: 'warning',
});
// tsc's map describes the file replaced above.
await rm('dist/core/zod.js.map', { force: true });
