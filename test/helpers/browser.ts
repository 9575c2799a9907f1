import { rmSync } from 'node:fs';
import { copyFile, mkdir, mkdtemp, writeFile } from 'node:fs/promises';
import { createServer, type Server as HttpServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { FastifyInstance } from 'fastify';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { buildWidget } from '../../scripts/build-widget.js';
import type { AppDeps } from '../../src/app.js';
import type { Check } from '../../src/api/schemas.js';
import type { CheckTarget, ServerChecker } from '../../src/probes/types.js';
import { buildTestApp } from './app.js';

/** Loopback addresses of the browser tests (127.0.4.0/24 is this suite's range). */
export const APP_HOST = '127.0.4.1';
/** The host page's address: another origin than the app, as an ISP's site would be. */
export const PAGE_HOST = '127.0.4.2';

/** Where screenshots and other browser artefacts go (gitignored). */
export const ARTIFACTS_DIR = fileURLToPath(new URL('../../test-artifacts/', import.meta.url));
/** Screenshots shown in the README; refreshed when UPDATE_SCREENSHOTS=1. */
export const DOCS_DIR = fileURLToPath(new URL('../../docs/', import.meta.url));

let built: Promise<string> | null = null;

/** Builds the widget bundles once per test process into a private temporary directory. */
export function buildWidgetForTests(): Promise<string> {
  built ??= (async () => {
    const dir = await mkdtemp(join(tmpdir(), 'msl-widget-'));
    process.once('exit', () => rmSync(dir, { recursive: true, force: true }));
    await buildWidget(dir);
    return dir;
  })();
  return built;
}

/** Starts headless Debian Chromium with everything that would reach the internet switched off. */
export function launchBrowser(): Promise<Browser> {
  return chromium.launch({
    executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--disable-dev-shm-usage',
    ],
  });
}

/**
 * Starts the real app with the test providers and the built widget on `host` (127.0.4.1 unless a
 * suite with its own loopback range says otherwise); returns its base URL.
 */
export async function startBrowserApp(
  overrides: Parameters<typeof buildTestApp>[0] = {},
  deps: Partial<AppDeps> = {},
  host = APP_HOST,
): Promise<{ app: FastifyInstance; url: string }> {
  const app = await buildTestApp(overrides, { widgetDir: await buildWidgetForTests(), ...deps });
  await app.listen({ host, port: 0 });
  const { port } = app.server.address() as AddressInfo;
  return { app, url: `http://${host}:${port}` };
}

/** A fresh page in its own context that records script errors and console errors (a test asserts there are none). */
export async function openPage(
  browser: Browser,
  url: string,
  options: Parameters<Browser['newContext']>[0] = {},
): Promise<{ context: BrowserContext; page: Page; problems: string[] }> {
  const context = await browser.newContext({ viewport: { width: 1000, height: 900 }, ...options });
  const page = await context.newPage();
  const problems: string[] = [];
  page.on('pageerror', (error) => problems.push(`pageerror: ${error.message}`));
  page.on('console', (message) => {
    if (message.type() === 'error') problems.push(`console: ${message.text()}`);
  });
  await page.goto(url);
  return { context, page, problems };
}

/** A plain HTTP server on another origin (127.0.4.2, or `host`) serving the given pages by path, as an ISP's site. */
export async function startHostPages(pages: Record<string, string>, host = PAGE_HOST): Promise<{ server: HttpServer; url: string; close: () => Promise<void> }> {
  const server = createServer((request, response) => {
    const page = pages[(request.url ?? '/').split('?')[0] ?? '/'];
    response.writeHead(page === undefined ? 404 : 200, { 'content-type': 'text/html; charset=utf-8' });
    response.end(page ?? 'not found');
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, host, () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  return {
    server,
    url: `http://${host}:${port}`,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

/** A live checker that answers from a table instead of the network (the real one is tested against Dovecot). */
export class FakeChecker implements ServerChecker {
  readonly calls: CheckTarget[] = [];

  async check(target: CheckTarget): Promise<Check> {
    this.calls.push(target);
    const refused = target.protocol === 'pop3' && target.security === 'none';
    const tls = target.security !== 'none';
    const base: Check = {
      ok: !refused,
      host: target.host,
      port: target.port,
      protocol: target.protocol,
      security: target.security,
      address: '127.0.4.99',
      ms: { dns: 2, connect: 5, tls: tls ? 14 : 0, total: tls ? 31 : 9 },
      greeting: refused ? '' : `${target.protocol.toUpperCase()} ready on ${target.host}`,
      capabilities: target.protocol === 'imap' ? ['IMAP4rev1', 'IDLE', 'AUTH=PLAIN'] : [],
      authMechanisms: refused ? [] : ['PLAIN', 'LOGIN'],
      starttls: target.security === 'starttls',
      tls: tls
        ? {
            authorized: true,
            protocol: 'TLSv1.3',
            cipher: 'TLS_AES_256_GCM_SHA384',
            certificate: {
              subject: `CN=${target.host}`,
              issuer: 'CN=Test Lab CA',
              validFrom: '2026-11-01T00:00:00.000Z',
              validTo: '2027-01-15T00:00:00.000Z',
              fingerprint256: 'AB:CD:EF:01',
              subjectAltNames: [`DNS:${target.host}`],
              daysLeft: target.security === 'starttls' ? 12 : 49,
              hostnameMatches: true,
              chain: [{ subject: 'CN=Test Lab CA', issuer: 'CN=Test Lab CA', validFrom: '2026-01-01T00:00:00.000Z', validTo: '2036-01-01T00:00:00.000Z' }],
            },
          }
        : null,
      warnings: target.security === 'starttls' ? ['certificate expires in 12 days'] : [],
    };
    if (refused) base.error = { code: 'connect_refused', message: `${target.host}:${target.port} refused the connection` };
    return base;
  }
}

/** Saves a screenshot under test-artifacts/ and, with UPDATE_SCREENSHOTS=1, also as docs/<docsName>. */
export async function saveScreenshot(png: Buffer, name: string, docsName?: string): Promise<string> {
  await mkdir(ARTIFACTS_DIR, { recursive: true });
  const file = join(ARTIFACTS_DIR, name);
  await writeFile(file, png);
  if (docsName && process.env.UPDATE_SCREENSHOTS === '1') {
    await mkdir(DOCS_DIR, { recursive: true });
    await copyFile(file, join(DOCS_DIR, docsName));
  }
  return file;
}

/**
 * Browser-side script: the WCAG contrast ratio of the first element matching each selector under
 * `root` (an expression), against the first opaque background found walking up (through shadow hosts).
 */
export function contrastScript(root: string, selectors: string[]): string {
  return `(() => {
    const parse = (c) => { const m = c.match(/[\\d.]+/g) || []; return { r: +m[0], g: +m[1], b: +m[2], a: m[3] === undefined ? 1 : +m[3] }; };
    const lum = ({ r, g, b }) => { const f = (v) => { v /= 255; return v <= 0.03928 ? v / 12.92 : Math.pow((v + 0.055) / 1.055, 2.4); }; return 0.2126 * f(r) + 0.7152 * f(g) + 0.0722 * f(b); };
    const background = (el) => {
      for (let node = el; node; node = node.parentElement || (node.getRootNode() && node.getRootNode().host)) {
        const bg = parse(getComputedStyle(node).backgroundColor);
        if (bg.a >= 0.99) return bg;
      }
      return { r: 255, g: 255, b: 255, a: 1 };
    };
    const root = ${root};
    return ${JSON.stringify(selectors)}.map((selector) => {
      const el = root.querySelector(selector);
      if (!el) return { selector, ratio: 0, missing: true };
      const fg = lum(parse(getComputedStyle(el).color));
      const bg = lum(background(el));
      const ratio = (Math.max(fg, bg) + 0.05) / (Math.min(fg, bg) + 0.05);
      return { selector, ratio: Math.round(ratio * 100) / 100 };
    });
  })()`;
}

/** A UDP port that is free on host right now (for the test DNS server, so parallel runs never collide). */
export async function freeUdpPort(host: string): Promise<number> {
  const { createSocket } = await import('node:dgram');
  const socket = createSocket('udp4');
  await new Promise<void>((resolve, reject) => {
    socket.once('error', reject);
    socket.bind(0, host, () => resolve());
  });
  const { port } = socket.address();
  await new Promise<void>((resolve) => socket.close(() => resolve()));
  return port;
}
