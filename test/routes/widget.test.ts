import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { gzipSync } from 'node:zlib';
import type { FastifyInstance } from 'fastify';
import { buildTestApp } from '../helpers/app.js';
import { buildWidgetForTests } from '../helpers/browser.js';

describe('widget build', () => {
  it('bundles widget.js into one file of at most 30 KB gzipped', async () => {
    const dir = await buildWidgetForTests();
    const bundle = await readFile(join(dir, 'widget.js'));
    const gzipped = gzipSync(bundle, { level: 9 }).length;
    assert.ok(gzipped <= 30 * 1024, `widget.js is ${gzipped} bytes gzipped`);
    const text = bundle.toString('utf8');
    // One self-contained classic script: no module syntax, no further requests for code.
    assert.doesNotMatch(text, /^\s*(import|export)\s/m);
    assert.match(text, /mail-settings-lookup/);
  });
});

describe('widget and page routes', () => {
  let app: FastifyInstance;
  before(async () => {
    app = await buildTestApp({}, { widgetDir: await buildWidgetForTests() });
  });
  after(() => app.close());

  it('serves /widget.js as JavaScript with an ETag and Cache-Control', async () => {
    const response = await app.inject('/widget.js');
    assert.equal(response.statusCode, 200);
    assert.match(String(response.headers['content-type']), /^text\/javascript; charset=utf-8$/);
    assert.match(String(response.headers['cache-control']), /public, max-age=\d+/);
    assert.match(String(response.headers.etag), /^"[\w-]+"$/);
    assert.equal(response.headers['cross-origin-resource-policy'], 'cross-origin');
    assert.match(response.body, /customElements/);
  });

  it('answers 304 to a matching If-None-Match and 200 to a stale one', async () => {
    const first = await app.inject('/widget.js');
    const etag = String(first.headers.etag);
    const again = await app.inject({ url: '/widget.js', headers: { 'if-none-match': etag } });
    assert.equal(again.statusCode, 304);
    assert.equal(again.body, '');
    assert.equal(again.headers.etag, etag);
    const stale = await app.inject({ url: '/widget.js', headers: { 'if-none-match': '"something-else"' } });
    assert.equal(stale.statusCode, 200);
  });

  it('serves the demo help page at / embedding the widget exactly as an ISP would, under a strict CSP', async () => {
    const response = await app.inject('/');
    assert.equal(response.statusCode, 200);
    assert.match(String(response.headers['content-type']), /^text\/html/);
    assert.ok(response.body.includes('<script src="/widget.js" defer></script>'));
    assert.ok(response.body.includes('<mail-settings-lookup></mail-settings-lookup>'));
    const csp = String(response.headers['content-security-policy']);
    assert.match(csp, /script-src 'self'/);
    assert.doesNotMatch(csp, /unsafe-inline/);
    assert.doesNotMatch(response.body, /<script>(?!<)/, 'no inline script');
    assert.equal(response.headers['cache-control'], 'no-cache');
  });

  it('serves the support desk page and its script and styles', async () => {
    const page = await app.inject('/desk');
    assert.equal(page.statusCode, 200);
    assert.match(page.body, /<script src="desk\.js" defer><\/script>/);
    assert.ok(page.headers['content-security-policy']);
    const script = await app.inject('/desk.js');
    assert.equal(script.statusCode, 200);
    assert.match(String(script.headers['content-type']), /^text\/javascript/);
    const styles = await app.inject('/desk.css');
    assert.match(String(styles.headers['content-type']), /^text\/css/);
  });

  it('keeps these routes out of the OpenAPI document', async () => {
    const document = (await app.inject('/openapi.json')).json() as { paths: Record<string, unknown> };
    for (const path of ['/', '/widget.js', '/desk', '/desk.js', '/desk.css', '/demo.css']) {
      assert.equal(document.paths[path], undefined, `${path} is in the OpenAPI document`);
    }
  });

  it('answers 404 with the API error shape when the widget is not built', async () => {
    const bare = await buildTestApp({}, { widgetDir: '/nonexistent/widget-dir' });
    try {
      const response = await bare.inject('/widget.js');
      assert.equal(response.statusCode, 404);
      assert.equal(response.json().error.code, 'not_found');
      assert.match(response.json().error.message, /build:widget/);
    } finally {
      await bare.close();
    }
  });
});
