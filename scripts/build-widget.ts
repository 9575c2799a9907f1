// npm run build:widget — bundles the embeddable widget and the support-desk page into dist/widget/.
import { copyFile, mkdir, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

/** Where the widget sources live. */
export const WIDGET_SRC_DIR = fileURLToPath(new URL('../widget/', import.meta.url));

/** Where `npm run build` puts the bundles (the service serves them from here by default). */
export const WIDGET_OUT_DIR = fileURLToPath(new URL('../dist/widget/', import.meta.url));

/** Builds widget.js and desk.js (minified IIFE bundles) and copies the static pages into outDir. */
export async function buildWidget(outDir: string = WIDGET_OUT_DIR): Promise<string[]> {
  await mkdir(outDir, { recursive: true });
  await build({
    entryPoints: { widget: join(WIDGET_SRC_DIR, 'src/widget.ts'), desk: join(WIDGET_SRC_DIR, 'src/desk.ts') },
    outdir: outDir,
    bundle: true,
    minify: true,
    format: 'iife',
    target: ['es2020'],
    platform: 'browser',
    legalComments: 'none',
    tsconfig: join(WIDGET_SRC_DIR, 'tsconfig.json'),
    logLevel: 'silent',
  });
  const pages = (await readdir(join(WIDGET_SRC_DIR, 'pages'))).filter((name) => /\.(html|css|svg)$/.test(name));
  await Promise.all(pages.map((name) => copyFile(join(WIDGET_SRC_DIR, 'pages', name), join(outDir, name))));
  return ['widget.js', 'desk.js', ...pages];
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const files = await buildWidget(process.argv[2] ?? WIDGET_OUT_DIR);
  console.log(`built ${files.join(', ')} into ${process.argv[2] ?? WIDGET_OUT_DIR}`);
}
