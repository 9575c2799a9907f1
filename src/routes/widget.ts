import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import { ApiError } from '../api/errors.js';

/** Where `npm run build:widget` writes the bundles: dist/widget/ both from src/routes and dist/routes. */
export const DEFAULT_WIDGET_DIR = fileURLToPath(new URL('../../dist/widget/', import.meta.url));

/** Options of the widget routes. */
export interface WidgetRoutesOptions {
  /** Directory holding widget.js, desk.js and the pages (built by scripts/build-widget.ts). */
  dir?: string;
}

/** One servable file: URL path, file name, content type and cache policy. */
interface Asset {
  path: string;
  file: string;
  type: string;
  cacheControl: string;
}

// Pages revalidate every time; scripts and styles are cached for an hour and revalidated by ETag
// (the embed URL /widget.js has no version in it, so it cannot be cached for long).
const SCRIPT_CACHE = 'public, max-age=3600, stale-while-revalidate=86400';
const PAGE_CACHE = 'no-cache';

const ASSETS: Asset[] = [
  { path: '/widget.js', file: 'widget.js', type: 'text/javascript; charset=utf-8', cacheControl: SCRIPT_CACHE },
  { path: '/desk.js', file: 'desk.js', type: 'text/javascript; charset=utf-8', cacheControl: SCRIPT_CACHE },
  { path: '/desk.css', file: 'desk.css', type: 'text/css; charset=utf-8', cacheControl: SCRIPT_CACHE },
  { path: '/demo.css', file: 'demo.css', type: 'text/css; charset=utf-8', cacheControl: SCRIPT_CACHE },
  { path: '/favicon.svg', file: 'favicon.svg', type: 'image/svg+xml', cacheControl: SCRIPT_CACHE },
  { path: '/', file: 'index.html', type: 'text/html; charset=utf-8', cacheControl: PAGE_CACHE },
  { path: '/desk', file: 'desk.html', type: 'text/html; charset=utf-8', cacheControl: PAGE_CACHE },
];

/** The pages need nothing inline: scripts, styles and API calls all come from this origin. */
export const PAGE_CSP =
  "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self' data:; " +
  "base-uri 'none'; form-action 'self'; frame-ancestors 'self'";

interface Loaded {
  body: Buffer;
  etag: string;
}

/** True when an If-None-Match header names the current ETag (or is `*`). */
function matchesEtag(header: string | undefined, etag: string): boolean {
  if (!header) return false;
  return header.split(',').some((tag) => {
    const value = tag.trim().replace(/^W\//, '');
    return value === '*' || value === etag;
  });
}

/** GET /widget.js, the demo help page at / and the support desk at /desk (hidden from OpenAPI). */
export const widgetRoutes: FastifyPluginAsync<WidgetRoutesOptions> = async (app, options) => {
  const dir = options.dir ?? DEFAULT_WIDGET_DIR;
  const cache = new Map<string, Loaded>();

  // Files are read once; a missing build is retried on the next request (so `build:widget` during
  // `npm run dev` works without a restart).
  const load = async (asset: Asset): Promise<Loaded | null> => {
    const hit = cache.get(asset.file);
    if (hit) return hit;
    try {
      const body = await readFile(join(dir, asset.file));
      const loaded = { body, etag: `"${createHash('sha256').update(body).digest('base64url').slice(0, 27)}"` };
      cache.set(asset.file, loaded);
      return loaded;
    } catch {
      return null;
    }
  };

  for (const asset of ASSETS) {
    const handler = async (request: FastifyRequest, reply: FastifyReply) => {
      const loaded = await load(asset);
      if (!loaded) {
        request.log.warn({ file: asset.file, dir }, 'widget asset missing: run npm run build:widget');
        throw new ApiError('not_found', `${asset.path} is not built on this server (npm run build:widget)`);
      }
      reply
        .header('content-type', asset.type)
        .header('cache-control', asset.cacheControl)
        .header('etag', loaded.etag)
        .header('x-content-type-options', 'nosniff');
      if (asset.type.startsWith('text/html')) {
        reply.header('content-security-policy', PAGE_CSP).header('referrer-policy', 'no-referrer');
      } else {
        // The widget is loaded by other origins' pages.
        reply.header('cross-origin-resource-policy', 'cross-origin');
      }
      if (matchesEtag(request.headers['if-none-match'], loaded.etag)) return reply.code(304).send();
      return reply.send(loaded.body);
    };
    app.get(asset.path, { schema: { hide: true } }, handler);
  }
};
