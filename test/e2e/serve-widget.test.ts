// The widget offers "Set up automatically" for a domain this service serves: the profile download on
// Apple devices, the Thunderbird/Outlook note everywhere. Real app on 127.0.20.1, an ISP's page on 127.0.20.2.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import type { FastifyInstance } from 'fastify';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { loadProviderDb } from '../../src/provider-db/provider-db.js';
import { en, fill, STRINGS } from '../../widget/src/i18n.js';
import { launchBrowser, saveScreenshot, startBrowserApp, startHostPages } from '../helpers/browser.js';

const WIDGET = 'mail-settings-lookup';
const IPHONE = 'Mozilla/5.0 (iPhone; CPU iPhone OS 18_0 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.0 Mobile/15E148 Safari/604.1';
const WINDOWS = 'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/130.0.0.0 Safari/537.36';

describe('widget: "Set up automatically" for a served domain', { timeout: 120_000 }, () => {
  let browser: Browser;
  let app: FastifyInstance;
  let hostUrl: string;
  let closeHost: () => Promise<void>;

  before(async () => {
    const providerDb = await loadProviderDb({ extraDir: fileURLToPath(new URL('../fixtures/providers-serve/', import.meta.url)) });
    let appUrl: string;
    ({ app, url: appUrl } = await startBrowserApp({ SERVE_DOMAINS: 'alpha.test', SERVE_HOSTNAME: 'settings.serve.test' }, { providerDb }, '127.0.20.1'));
    const page = (attributes: string) => `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Alpha help</title><link rel="icon" href="data:,"><script src="${appUrl}/widget.js" defer></script></head>
<body><${WIDGET} api="${appUrl}"${attributes}></${WIDGET}></body></html>`;
    ({ url: hostUrl, close: closeHost } = await startHostPages({ '/': page(''), '/de': page(' lang="de"') }, '127.0.20.2'));
    browser = await launchBrowser();
  });

  after(async () => {
    await browser?.close();
    await closeHost?.();
    await app?.close();
  });

  async function lookUp(path: string, userAgent: string, query: string): Promise<{ context: BrowserContext; page: Page; problems: string[] }> {
    const context = await browser.newContext({ userAgent, viewport: { width: 900, height: 1100 } });
    const page = await context.newPage();
    const problems: string[] = [];
    page.on('pageerror', (error) => problems.push(error.message));
    await page.goto(`${hostUrl}${path}`);
    const input = page.locator(WIDGET).locator('input');
    await input.fill(query);
    await input.press('Enter');
    await page.locator(WIDGET).locator('.card.primary').waitFor();
    return { context, page, problems };
  }

  const auto = (page: Page) => page.locator(WIDGET).locator('section.auto');

  it('offers the profile download on an iPhone, with its install note and the Thunderbird/Outlook note', async () => {
    const { context, page, problems } = await lookUp('/', IPHONE, 'jane@alpha.test');
    assert.equal(await auto(page).locator('h3').textContent(), en.autoTitle);
    const link = auto(page).getByRole('link', { name: en.autoApple });
    assert.equal(await link.getAttribute('href'), 'https://settings.serve.test/v1/mobileconfig?email=jane%40alpha.test');
    const text = await auto(page).textContent();
    for (const line of [en.autoAppleNote, en.autoClients, en.autoManual]) assert.ok(text?.includes(line), line);
    await saveScreenshot(await page.screenshot({ fullPage: true }), 'widget-autoconfigure-iphone.png');
    assert.deepEqual(problems, []);
    await context.close();
  });

  it('gives only the Thunderbird/Outlook note elsewhere, and nothing for a domain it does not serve', async () => {
    const { context, page } = await lookUp('/', WINDOWS, 'jane@alpha.test');
    assert.equal(await auto(page).count(), 1);
    assert.equal(await auto(page).getByRole('link').count(), 0);
    assert.ok((await auto(page).textContent())?.includes(en.autoClients));
    await page.locator(WIDGET).locator('input').fill('jane@gmail.com');
    await page.locator(WIDGET).locator('input').press('Enter');
    // The answer's status line (the loading line, "Looking up settings for jane@gmail.com…", also
    // matches 'Gmail' case-insensitively, while the previous cards are still shown).
    await page.locator(WIDGET).locator('[role=status]').filter({ hasText: fill(en.found, { name: 'Gmail', protocol: 'IMAP' }) }).waitFor();
    assert.equal(await auto(page).count(), 0);
    await context.close();
  });

  it('speaks the page language (German) and shows no download for a bare domain', async () => {
    const de = STRINGS.de;
    assert.ok(de);
    const { context, page } = await lookUp('/de', IPHONE, 'alpha.test');
    assert.equal(await auto(page).locator('h3').textContent(), de.autoTitle);
    assert.equal(await auto(page).getByRole('link').count(), 0, 'a profile is per address');
    assert.ok((await auto(page).textContent())?.includes(de.autoClients));
    await context.close();
  });
});
