// npm run build:widget — bundles the embeddable widget and the support-desk page into dist/widget/.
import { copyFile, mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import { DESK_STRINGS } from '../widget/src/desk-i18n.js';

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
  await Promise.all(
    pages.map(async (name) => {
      const from = join(WIDGET_SRC_DIR, 'pages', name);
      if (name !== 'desk.html') return copyFile(from, join(outDir, name));
      return writeFile(join(outDir, name), fillDeskNoscript(await readFile(from, 'utf8')));
    }),
  );
  return ['widget.js', 'desk.js', ...pages];
}

const NOSCRIPT_MARKER = /<!-- needsJavaScript\b[^>]*-->/;

const escapeHtml = (text: string) => text.replace(/[&<>"]/g, (char) => `&#${char.charCodeAt(0)};`);

/**
 * desk.html's <noscript> text in every desk language, each marked with its lang: the page picks its
 * language in desk.js, so without JavaScript it cannot know which one its reader wants.
 */
export function fillDeskNoscript(html: string): string {
  if (!NOSCRIPT_MARKER.test(html)) throw new Error('desk.html has no <!-- needsJavaScript --> marker in its <noscript>');
  const lines = Object.entries(DESK_STRINGS).map(
    ([code, strings]) => `<p class="status problem" lang="${code}">${escapeHtml(strings.page.needsJavaScript)}</p>`,
  );
  return html.replace(NOSCRIPT_MARKER, lines.join(''));
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const files = await buildWidget(process.argv[2] ?? WIDGET_OUT_DIR);
  console.log(`built ${files.join(', ')} into ${process.argv[2] ?? WIDGET_OUT_DIR}`);
}
