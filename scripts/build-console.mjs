#!/usr/bin/env node
// Bundles the console's web app (src/console/web/app.ts with Cytoscape.js and uPlot) into dist/console-web/
// with esbuild, so `l4mesh dashboard` serves it from this process with no CDN. Part of `npm run build`.
import { build } from 'esbuild';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = dirname(dirname(fileURLToPath(import.meta.url)));
await build({
  entryPoints: { app: join(root, 'src', 'console', 'web', 'app.ts') },
  outdir: join(root, 'dist', 'console-web'),
  bundle: true,
  minify: true,
  format: 'iife',
  target: ['chrome110', 'firefox110'],
  logLevel: 'warning',
});
