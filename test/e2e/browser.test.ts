// The widget and the support desk in headless Chromium: real app on 127.0.4.1, an ISP's page on 127.0.4.2.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { FastifyInstance } from 'fastify';
import type { Browser, Page } from 'playwright-core';
import { contrastScript, FakeChecker, freeUdpPort, launchBrowser, openPage, saveScreenshot, startBrowserApp, startHostPages } from '../helpers/browser.js';
import { TestDnsServer } from '../helpers/dns-server.js';
import { autoconfigXml } from '../helpers/autoconfig-docs.js';
import { startHttps, type Started } from '../helpers/servers.js';
import { createTestCa, type TestCa } from '../helpers/test-ca.js';
import { fill, STRINGS } from '../../widget/src/i18n.js';

const WIDGET = 'mail-settings-lookup';

describe('widget and support desk in Chromium', { timeout: 120_000 }, () => {
  let browser: Browser;
  let app: FastifyInstance;
  let appUrl: string;
  let hostUrl: string;
  let closeHost: () => Promise<void>;
  let dns: TestDnsServer;
  let ca: TestCa;
  let jmapHost: Started<unknown>;
  const checker = new FakeChecker();

  before(async () => {
    // Every name the app resolves goes to this loopback DNS server: nothing leaves the machine.
    dns = new TestDnsServer('127.0.4.53', await freeUdpPort('127.0.4.53'));
    dns.set('_imaps._tcp.srv-only.test', [{ type: 'SRV', target: 'mail.srv-only.test', port: 993, priority: 0, weight: 1 }]);
    dns.set('_imap._tcp.srv-only.test', [{ type: 'SRV', target: 'mail.srv-only.test', port: 143, priority: 10, weight: 1 }]);
    dns.set('_pop3s._tcp.srv-only.test', [{ type: 'SRV', target: 'mail.srv-only.test', port: 995, priority: 10, weight: 1 }]);
    dns.set('_submissions._tcp.srv-only.test', [{ type: 'SRV', target: 'mail.srv-only.test', port: 465, priority: 0, weight: 1 }]);
    // A domain that publishes only JMAP (RFC 8620 §2.2), on an HTTPS host of a test CA at 127.0.4.20.
    dns.set('jmap-only.test', [{ type: 'A', address: '127.0.4.20' }]);
    // A domain whose autoconfig still names its own server after its mail moved to Gmail (MX at google.com).
    dns.set('autoconfig.moved.test', [{ type: 'A', address: '127.0.4.20' }]);
    dns.set('moved.test', [{ type: 'MX', exchange: 'aspmx.l.google.com', priority: 1 }]);
    // A domain whose autoconfig asks users to enable IMAP first, in English and German.
    dns.set('autoconfig.enable.test', [{ type: 'A', address: '127.0.4.20' }]);
    await dns.start();
    ca = createTestCa();
    jmapHost = await startHttps('127.0.4.20', ca.issue(['jmap-only.test', 'autoconfig.moved.test', 'autoconfig.enable.test']), (request, response) => {
      if (request.headers.host === 'autoconfig.moved.test') {
        if (request.url?.startsWith('/mail/config-v1.1.xml')) return response.end(autoconfigXml('moved.test'));
        response.writeHead(404);
        return response.end();
      }
      if (request.headers.host === 'autoconfig.enable.test' && request.url?.startsWith('/mail/config-v1.1.xml')) {
        return response.end(
          autoconfigXml('enable.test').replace(
            '</emailProvider>',
            `<enable visiturl="https://mail.enable.test/settings/imap">
  <instruction lang="en">Turn on IMAP access under Settings, then Mail apps.</instruction>
  <instruction lang="de">Schalten Sie unter Einstellungen, Mail-Apps den IMAP-Zugriff ein.</instruction>
</enable>
<documentation url="https://help.enable.test/imap"><descr lang="en">Help with IMAP</descr><descr lang="de">Hilfe zu IMAP</descr></documentation>
</emailProvider>`,
          ),
        );
      }
      response.writeHead(request.url === '/.well-known/jmap' ? 307 : 404, { location: 'https://api.jmap-only.test/jmap/session' });
      response.end();
    });
    ({ app, url: appUrl } = await startBrowserApp(
      { DNS_SERVERS: dns.server, DNS_TIMEOUT_MS: '300', DNS_TRIES: '1', PROBE_ALLOW_CIDRS: '127.0.4.20/32' },
      { checker, httpCa: ca.cert },
    ));
    const page = (attributes: string, withApi = true) => `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>Some ISP — help</title><link rel="icon" href="data:,"><script src="${appUrl}/widget.js" defer></script></head>
<body><h1>Some ISP help</h1><${WIDGET}${withApi ? ` api="${appUrl}"` : ''}${attributes}></${WIDGET}></body></html>`;
    ({ url: hostUrl, close: closeHost } = await startHostPages({
      '/': page(''),
      '/default-api': page('', false),
      '/preset': page(' domain="example-mail.test"'),
      '/de': page(' lang="de"'),
      ...Object.fromEntries(Object.keys(STRINGS).map((code) => [`/lang/${code}`, page(` lang="${code}"`)])),
      '/page-lang-fr': page('').replace('<html lang="en">', '<html lang="fr">'),
      '/check': page(' domain="example-mail.test" check'),
      '/themed': page(' domain="example-mail.test"').replace('</head>', '<style>mail-settings-lookup { --msl-accent: rgb(0, 107, 60); }</style></head>'),
    }));
    browser = await launchBrowser();
  });

  after(async () => {
    await browser?.close();
    await closeHost?.();
    await app?.close();
    await dns?.stop();
    await jmapHost?.stop();
    ca?.dispose();
  });

  const open = (url: string, options: Parameters<Browser['newContext']>[0] = {}) => openPage(browser, url, options);

  const widget = (page: Page) => page.locator(WIDGET);
  const statusText = (page: Page) => widget(page).locator('[role=status]').textContent();

  async function lookUp(page: Page, text: string): Promise<void> {
    await widget(page).getByLabel('Your email address').fill(text);
    await widget(page).getByLabel('Your email address').press('Enter');
  }

  const fieldValues = (page: Page, container: string) =>
    widget(page).locator(`${container} .value .val`).allTextContents();

  it('shows IMAP recommended first for a typed address, from another origin through CORS', async () => {
    const { context, page, problems } = await open(`${hostUrl}/`);
    const lookup = page.waitForResponse((response) => response.url().startsWith(`${appUrl}/v1/lookup`));
    await lookUp(page, 'jane@example-mail.test');
    const response = await lookup;
    assert.equal(response.status(), 200);
    assert.equal(response.headers()['access-control-allow-origin'], '*');
    await widget(page).locator('.card.primary').waitFor();

    const headings = (await widget(page).locator('.results h3, .results summary').allTextContents()).map((text) => text.trim());
    const order = headings.filter((text) => /IMAP|POP3|SMTP/.test(text));
    assert.deepEqual(order, ['Receiving mail — IMAPrecommended', 'Alternative: POP3', 'Sending mail — SMTP']);
    assert.deepEqual(await fieldValues(page, '.card.primary'), ['imap.example-mail.test', '993', 'SSL/TLS', 'jane@example-mail.test']);
    assert.match(await widget(page).locator('.card.primary .explain').textContent() ?? '', /every device stays in sync/);

    await widget(page).getByText('Alternative: POP3').click();
    const pop = widget(page).locator('details[open]');
    assert.match(await pop.textContent() ?? '', /POP3 downloads mail to one device.*single device or want an offline archive/);
    assert.deepEqual(await fieldValues(page, 'details[open]'), ['pop.example-mail.test', '995', 'SSL/TLS', 'jane']);
    const smtp = widget(page).locator('section.card').filter({ hasText: 'SMTP' });
    assert.deepEqual(await smtp.locator('.value .val').allTextContents(), [
      'smtp.example-mail.test',
      '465',
      'SSL/TLS',
      'jane@example-mail.test',
    ]);
    assert.match(await widget(page).locator('.hints').textContent() ?? '', /Turn on IMAP/);
    assert.equal(await widget(page).locator('.hints a').getAttribute('href'), 'https://help.example-mail.test/settings');
    assert.match(await statusText(page) ?? '', /Example Mail: IMAP recommended/);
    assert.deepEqual(problems, []);
    await context.close();
  });

  it('says "sign in with Outlook.com" instead of a password row for an OAuth-only server', async () => {
    const { context, page, problems } = await open(`${hostUrl}/`);
    await lookUp(page, 'jane@outlook.com');
    await widget(page).locator('.field').first().waitFor();
    const text = (await widget(page).locator('.field').allTextContents()).join('\n');
    assert.match(text, /Sign-in/);
    assert.match(text, /"Sign in with Outlook\.com"/);
    assert.doesNotMatch(text, /Your email password/);
    assert.deepEqual(problems, []);
    await context.close();
  });

  it('copies a field to the clipboard and says so', async () => {
    const { context, page } = await open(`${hostUrl}/`, { permissions: ['clipboard-read', 'clipboard-write'] });
    await lookUp(page, 'jane@example-mail.test');
    const copy = widget(page).getByRole('button', { name: 'Copy: Server' }).first();
    await copy.click();
    // The label changes once the asynchronous clipboard write has settled: wait for that event.
    await widget(page).getByRole('button', { name: 'Copy: Server' }).first().filter({ hasText: 'Copied' }).waitFor({ timeout: 5000 });
    assert.equal(await copy.textContent(), 'Copied');
    assert.equal(await page.evaluate('navigator.clipboard.readText()'), 'imap.example-mail.test');
    assert.equal(await widget(page).locator('[aria-live=assertive]').textContent(), 'Copied imap.example-mail.test');
    await context.close();
  });

  it('says so when nothing is known for a domain', async () => {
    const { context, page } = await open(`${hostUrl}/`);
    await lookUp(page, 'nobody@unknown-domain.test');
    await widget(page).locator('.status.problem').waitFor();
    assert.match(await statusText(page) ?? '', /could not find settings for unknown-domain\.test/);
    assert.equal(await widget(page).locator('.card').count(), 0);
    await lookUp(page, 'not an address!');
    await widget(page).getByText('Please enter an email address').waitFor();
    assert.equal(await widget(page).getByLabel('Your email address').getAttribute('aria-invalid'), 'true');
    await context.close();
  });

  it('shows the rate-limited, error and offline states', async () => {
    const { context, page } = await open(`${hostUrl}/`);
    const cors = { 'access-control-allow-origin': '*', 'access-control-expose-headers': 'Retry-After', 'content-type': 'application/json' };
    await page.route(`${appUrl}/v1/lookup**`, (route) =>
      route.fulfill({ status: 429, headers: { ...cors, 'retry-after': '42' }, body: '{"error":{"code":"rate_limited","message":"slow down"}}' }),
    );
    await lookUp(page, 'jane@example-mail.test');
    await widget(page).locator('.status.problem').waitFor();
    assert.match(await statusText(page) ?? '', /try again in 42 seconds/);
    await page.unrouteAll();
    await page.route(`${appUrl}/v1/lookup**`, (route) =>
      route.fulfill({ status: 500, headers: cors, body: '{"error":{"code":"internal_error","message":"x"}}' }),
    );
    await lookUp(page, 'jane@example-mail.test');
    await widget(page).getByText('Something went wrong').waitFor();
    await page.unrouteAll();
    await page.route(`${appUrl}/v1/lookup**`, (route) => route.abort('connectionrefused'));
    await lookUp(page, 'jane@example-mail.test');
    await widget(page).getByText('cannot be reached').waitFor();
    await context.close();
  });

  it('works with the keyboard alone: Tab to the field, Enter to look up, Enter to copy, Enter to open POP3', async () => {
    const { context, page } = await open(`${hostUrl}/`, { permissions: ['clipboard-read', 'clipboard-write'] });
    const focused = () =>
      page.evaluate(`(() => { const el = document.activeElement && document.activeElement.shadowRoot ? document.activeElement.shadowRoot.activeElement : document.activeElement; return el ? (el.getAttribute('aria-label') || el.textContent || el.id || el.tagName).trim() : ''; })()`) as Promise<string>;
    await page.keyboard.press('Tab');
    assert.match(await focused(), /-q$/, 'first Tab lands in the address field');
    await page.keyboard.type('jane@example-mail.test');
    await page.keyboard.press('Enter');
    await widget(page).locator('.card.primary').waitFor();
    const seen: string[] = [];
    for (let i = 0; i < 12 && (await focused()) !== 'Copy: Server'; i += 1) {
      await page.keyboard.press('Tab');
      seen.push(await focused());
    }
    assert.equal(await focused(), 'Copy: Server', `Tab order: ${seen.join(' | ')}`);
    await page.keyboard.press('Enter');
    assert.equal(await page.evaluate('navigator.clipboard.readText()'), 'imap.example-mail.test');
    for (let i = 0; i < 20 && (await focused()) !== 'Alternative: POP3'; i += 1) await page.keyboard.press('Tab');
    assert.equal(await focused(), 'Alternative: POP3');
    await page.keyboard.press('Enter');
    assert.equal(await widget(page).locator('details').first().getAttribute('open'), '');
    await context.close();
  });

  it('fits a 375 px phone screen without horizontal scrolling', async () => {
    const { context, page } = await open(`${hostUrl}/`, { viewport: { width: 375, height: 800 }, deviceScaleFactor: 2 });
    await lookUp(page, 'jane.doe@example-mail.test');
    await widget(page).locator('.card.primary').waitFor();
    await widget(page).getByText('Alternative: POP3').click();
    const width = (await page.evaluate('[document.documentElement.scrollWidth, document.documentElement.clientWidth]')) as number[];
    assert.ok((width[0] ?? 999) <= (width[1] ?? 0), `page scrolls sideways: ${width.join(' > ')}`);
    const box = await widget(page).boundingBox();
    assert.ok(box && box.x >= 0 && box.x + box.width <= 375, `widget box ${JSON.stringify(box)}`);
    await saveScreenshot(await page.screenshot({ fullPage: true }), 'widget-phone.png');
    await context.close();
  });

  it('finds the API from the script URL when no api attribute is given', async () => {
    const { context, page } = await open(`${hostUrl}/default-api`);
    await lookUp(page, 'jane@example-mail.test');
    await widget(page).locator('.card.primary').waitFor();
    assert.deepEqual((await fieldValues(page, '.card.primary'))[0], 'imap.example-mail.test');
    await context.close();
  });

  it('shows a preset domain without typing, and fills in a bare user name', async () => {
    const { context, page } = await open(`${hostUrl}/preset`);
    await widget(page).locator('.card.primary').waitFor();
    assert.match(await widget(page).locator('.card.primary').textContent() ?? '', /Your full email address/);
    assert.equal(await widget(page).getByLabel('Your email address').getAttribute('placeholder'), 'name@example-mail.test');
    await lookUp(page, 'jane');
    await widget(page).getByText('Settings for Example Mail').waitFor();
    await page.waitForFunction(
      `document.querySelector('${WIDGET}').shadowRoot.querySelector('.card.primary .val[id$=user]')?.textContent === 'jane@example-mail.test'`,
    );
    await context.close();
  });

  it('speaks German with lang="de"', async () => {
    const { context, page } = await open(`${hostUrl}/de`);
    assert.equal((await widget(page).locator('h2').textContent())?.trim(), 'E-Mail-Einstellungen finden');
    await widget(page).getByLabel('Ihre E-Mail-Adresse').fill('jane@example-mail.test');
    await widget(page).getByRole('button', { name: 'Einstellungen finden' }).click();
    await widget(page).locator('.card.primary').waitFor();
    assert.match(await widget(page).locator('.card.primary h3').textContent() ?? '', /E-Mails empfangen — IMAP\s*empfohlen/);
    assert.match(await widget(page).locator('.card.primary .explain').textContent() ?? '', /alle Geräte synchron/);
    assert.ok(await widget(page).getByRole('button', { name: 'Kopieren: Server' }).first().isVisible());
    await saveScreenshot(await widget(page).screenshot(), 'widget-de.png');
    await context.close();
  });

  /** Looks up the fixture address in a widget speaking `code` and checks every visible label is that language's own. */
  async function assertSpeaks(page: Page, code: string): Promise<void> {
    const t = STRINGS[code]!;
    assert.equal((await widget(page).locator('h2').textContent())?.trim(), t.title);
    await widget(page).getByLabel(t.label, { exact: true }).fill('jane@example-mail.test');
    await widget(page).getByRole('button', { name: t.find, exact: true }).click();
    await widget(page).locator('.card.primary').waitFor();
    assert.equal(await statusText(page), fill(t.found, { name: 'Example Mail', protocol: 'IMAP' }));
    assert.equal(await widget(page).locator('.card.primary h3').textContent(), `${t.incoming} — IMAP${t.recommended}`);
    assert.equal(await widget(page).locator('.card.primary .badge').textContent(), t.recommended);
    assert.equal(await widget(page).locator('.card.primary .explain').textContent(), t.whyImap);
    assert.deepEqual((await widget(page).locator('.card.primary dt').allTextContents()).slice(0, 4), [t.server, t.port, t.security, t.username]);
    assert.equal(await widget(page).locator('summary').first().textContent(), t.showPop);
    assert.equal(await widget(page).locator('section.card:not(.primary) h3').textContent(), t.outgoing);
    assert.ok(await widget(page).getByRole('button', { name: `${t.copy}: ${t.server}`, exact: true }).first().isVisible());
  }

  for (const code of Object.keys(STRINGS)) {
    it(`speaks ${code} with lang="${code}": title, status, headings, badge and labels from its table`, async () => {
      const { context, page, problems } = await open(`${hostUrl}/lang/${code}`);
      await assertSpeaks(page, code);
      assert.deepEqual(problems, []);
      await context.close();
    });
  }

  it('takes the language of the page (<html lang="fr">) when it has no lang attribute of its own', async () => {
    const { context, page } = await open(`${hostUrl}/page-lang-fr`);
    await assertSpeaks(page, 'fr');
    await context.close();
  });

  it('shows live check status when the check attribute is set', async () => {
    const before = checker.calls.length;
    const { context, page } = await open(`${hostUrl}/check`);
    await widget(page).locator('.card.primary .check.ok').waitFor();
    assert.match(await widget(page).locator('.card.primary .check').textContent() ?? '', /answered in 31 ms; certificate valid for 49 more days/);
    assert.ok(checker.calls.length > before, 'the checker was asked');
    await context.close();
  });

  it('keeps text contrast at WCAG AA (4.5:1) or better', async () => {
    const { context, page } = await open(`${hostUrl}/check`);
    await widget(page).locator('.card.primary .check.ok').waitFor();
    await widget(page).getByText('Alternative: POP3').click();
    const selectors = ['h2', 'label.main', '.status', '.hints h3', '.hints li', '.hints a', '.card.primary h3', '.badge', '.explain', 'dt', '.val', '.value .text', 'button[type=submit]', 'button.copy', 'summary', '.check.ok'];
    const results = (await page.evaluate(contrastScript(`document.querySelector('${WIDGET}').shadowRoot`, selectors))) as { selector: string; ratio: number }[];
    const low = results.filter((result) => result.ratio < 4.5);
    assert.deepEqual(low, [], JSON.stringify(results));
    await context.close();
  });

  it('takes its colours from the host page through CSS custom properties', async () => {
    const { context, page } = await open(`${hostUrl}/themed`);
    await widget(page).locator('.card.primary').waitFor();
    const colour = await page.evaluate(`getComputedStyle(document.querySelector('${WIDGET}').shadowRoot.querySelector('.card.primary')).borderTopColor`);
    assert.equal(colour, 'rgb(0, 107, 60)');
    await context.close();
  });

  it('runs on the demo help page at / under its strict Content-Security-Policy', async () => {
    const { context, page, problems } = await open(`${appUrl}/`, { viewport: { width: 1100, height: 900 } });
    const violations: string[] = [];
    page.on('console', (message) => {
      if (/Content Security Policy/i.test(message.text())) violations.push(message.text());
    });
    await lookUp(page, 'jane@example-mail.test');
    await widget(page).locator('.card.primary').waitFor();
    // Styles came through the constructed stylesheet: the recommended card has its accent border.
    const border = await page.evaluate(`getComputedStyle(document.querySelector('${WIDGET}').shadowRoot.querySelector('.card.primary')).borderTopWidth`);
    assert.equal(border, '2px');
    assert.deepEqual([...problems, ...violations], []);
    await saveScreenshot(await page.screenshot({ fullPage: true }), 'widget-demo-page.png', 'widget.png');
    await context.close();
  });

  it('desk: shows the ranked servers and every source as a step list, with a shareable URL', async () => {
    const { context, page, problems } = await open(`${appUrl}/desk?q=jane%40srv-only.test`, { viewport: { width: 1280, height: 900 } });
    await page.locator('ol.steps').waitFor();
    assert.equal(await page.getByLabel('Email address or domain').inputValue(), 'jane@srv-only.test');
    const steps = await Promise.all(
      (await page.locator('ol.steps > li').all()).map(async (item) => ({
        // (count first: textContent() of a missing element would wait for it to appear)
        name: (await item.locator('strong').count()) > 0 ? await item.locator('strong').first().textContent() : null,
        outcome: await item.getAttribute('class'),
        text: await item.textContent(),
      })),
    );
    const byName = new Map(steps.map((step) => [step.name, step]));
    assert.equal(byName.get('provider-db')?.outcome, 'not-found');
    assert.equal(byName.get('srv')?.outcome, 'found');
    assert.match(byName.get('srv')?.text ?? '', /Asked: _\*\._tcp\.srv-only\.test/);
    assert.match(byName.get('autoconfig')?.text ?? '', /https:\/\/autoconfig\.srv-only\.test\/mail\/config-v1\.1\.xml/);
    assert.match(byName.get('autoconfig')?.text ?? '', /\d+ ms/);
    const firstRow = await page.locator('table').first().locator('tbody tr').first().textContent();
    assert.doesNotMatch(firstRow ?? '', /OAuth2/);
    assert.match(firstRow ?? '', /IMAP.*recommended.*mail\.srv-only\.test.*993/);
    assert.deepEqual(problems, []);
    // On a phone the wide tables scroll inside their own box; the page itself never scrolls sideways.
    await page.setViewportSize({ width: 375, height: 800 });
    const width = (await page.evaluate('[document.documentElement.scrollWidth, document.documentElement.clientWidth]')) as number[];
    assert.ok((width[0] ?? 999) <= (width[1] ?? 0), `desk scrolls sideways: ${width.join(' > ')}`);
    await saveScreenshot(await page.screenshot({ fullPage: true }), 'desk-phone.png');
    await context.close();
  });

  it('desk: runs live checks and shows certificate details and warnings; bypass cache and reload keep the state', async () => {
    const { context, page, problems } = await open(`${appUrl}/desk?q=jane%40srv-only.test`, { viewport: { width: 1280, height: 900 } });
    await page.locator('ol.steps').waitFor();
    await page.getByRole('button', { name: 'Run live checks' }).click();
    await page.locator('.checks article').first().waitFor();
    assert.match(page.url(), /[?&]check=1/);
    const imap993 = page.locator('.checks article[data-server="imap:mail.srv-only.test:993"]');
    assert.match(await imap993.textContent() ?? '', /reachable/);
    assert.match(await imap993.textContent() ?? '', /CN=mail\.srv-only\.test.*CN=Test Lab CA.*49 days left/);
    const starttls = page.locator('.checks article[data-server="imap:mail.srv-only.test:143"]');
    assert.match(await starttls.locator('ul.warnings').textContent() ?? '', /certificate expires in 12 days/);
    assert.equal(await page.locator('.checks article').count(), 4);
    assert.equal(await page.locator('table tbody tr td:last-child .pill.ok').count(), 4);
    await saveScreenshot(await page.screenshot({ fullPage: true }), 'desk-checks.png', 'desk.png');

    await page.getByLabel('Bypass cache').check();
    await page.getByRole('button', { name: 'Look up', exact: true }).click();
    await page.waitForURL(/fresh=1/);
    await page.getByText('fresh lookup').waitFor();
    await page.reload();
    await page.locator('ol.steps').waitFor();
    assert.equal(await page.getByLabel('Bypass cache').isChecked(), true);
    assert.equal(await page.getByLabel('Email address or domain').inputValue(), 'jane@srv-only.test');
    assert.deepEqual(problems, []);
    await context.close();
  });

  it('desk: says not found for an unknown domain', async () => {
    const { context, page } = await open(`${appUrl}/desk?q=unknown-domain.test`);
    await page.locator('.status.problem').waitFor();
    assert.match(await page.locator('#status').textContent() ?? '', /Not found: no mail settings are known for unknown-domain\.test/);
    // The trace still shows why: every source consulted, with its outcome.
    assert.match((await page.locator('#h-sources').textContent()) ?? '', /Sources consulted \(\d+\)/);
    assert.match((await page.locator('ol.steps li').first().textContent()) ?? '', /provider-db.*not-found/);
    await context.close();
  });

  it('desk: shows the JMAP session of a domain that offers no IMAP, with the trace', async () => {
    const { context, page } = await open(`${appUrl}/desk?q=jmap-only.test`);
    await page.locator('.status.problem').waitFor();
    assert.match((await page.locator('#status').textContent()) ?? '', /Not found: no IMAP or POP3 settings are known for jmap-only\.test; it offers jmap/);
    const alternatives = (await page.locator('ul.alternatives').textContent()) ?? '';
    assert.match(alternatives, /JMAP\s+https:\/\/api\.jmap-only\.test\/jmap\/session\s+from jmap:https:\/\/jmap-only\.test\/\.well-known\/jmap/);
    assert.match((await page.locator('ol.steps').textContent()) ?? '', /jmap.*not-found.*JMAP session at/s);
    await saveScreenshot(await page.screenshot({ fullPage: true }), 'desk-jmap-only.png');
    await context.close();
  });

  it('desk: shows sources_disagree above the servers with both sides, and the widget a short note', async () => {
    const { context, page } = await open(`${appUrl}/desk?q=moved.test`);
    await page.locator('section.warnings').waitFor();
    const warning = (await page.locator('section.warnings li[data-code=sources_disagree]').textContent()) ?? '';
    assert.match(warning, /imap\.moved\.test/);
    assert.match(warning, /Gmail \(imap\.gmail\.com/);
    // Above the servers, and the domain's own publication still first.
    const order = await page.evaluate(`[...document.querySelectorAll('#out h2')].map((node) => node.id)`);
    assert.ok((order as string[]).indexOf('h-warnings') < (order as string[]).indexOf('h-servers'));
    assert.match((await page.locator('table').first().locator('tbody tr').first().textContent()) ?? '', /imap\.moved\.test/);
    await saveScreenshot(await page.screenshot({ fullPage: true }), 'desk-sources-disagree.png');
    await context.close();

    const widgetPage = await open(`${hostUrl}/`);
    await lookUp(widgetPage.page, 'jane@moved.test');
    await widget(widgetPage.page).locator('.warn.stale').waitFor();
    assert.match((await widget(widgetPage.page).locator('.warn.stale').textContent()) ?? '', /may have moved to another provider/);
    await widgetPage.context.close();
  });

  it("shows the autoconfig document's instructions in the widget's language (German with lang=\"de\", else English); the desk lists every language", async () => {
    const german = await open(`${hostUrl}/de`);
    await widget(german.page).getByLabel('Ihre E-Mail-Adresse').fill('jane@enable.test');
    await widget(german.page).getByLabel('Ihre E-Mail-Adresse').press('Enter');
    await widget(german.page).locator('.hints li.instruction').first().waitFor();
    const germanItems = await widget(german.page).locator('.hints li.instruction').allTextContents();
    assert.match(germanItems[0] ?? '', /Schalten Sie unter Einstellungen, Mail-Apps den IMAP-Zugriff ein\.\s+Einstellungsseite öffnen/);
    assert.match(germanItems[1] ?? '', /^Hilfe zu IMAP$/);
    assert.equal(await widget(german.page).locator('.hints li.instruction [lang=de]').count(), 2);
    assert.equal(await widget(german.page).getByRole('link', { name: 'Einstellungsseite öffnen' }).getAttribute('href'), 'https://mail.enable.test/settings/imap');
    assert.doesNotMatch((await widget(german.page).locator('.hints').textContent()) ?? '', /Turn on IMAP/);
    await saveScreenshot(await widget(german.page).screenshot(), 'widget-instructions-de.png');
    await german.context.close();

    const english = await open(`${hostUrl}/`);
    await lookUp(english.page, 'jane@enable.test');
    await widget(english.page).locator('.hints li.instruction').first().waitFor();
    const englishItems = await widget(english.page).locator('.hints li.instruction').allTextContents();
    assert.match(englishItems[0] ?? '', /Turn on IMAP access under Settings, then Mail apps\.\s+Open the settings page/);
    assert.match(englishItems[1] ?? '', /^Help with IMAP$/);
    assert.equal(await widget(english.page).getByRole('link', { name: 'Help with IMAP' }).getAttribute('href'), 'https://help.enable.test/imap');
    await english.context.close();

    const desk = await open(`${appUrl}/desk?q=enable.test`);
    await desk.page.locator('.instructions').waitFor();
    const listed = (await desk.page.locator('.instructions').textContent()) ?? '';
    assert.match(listed, /enable\s*https:\/\/mail\.enable\.test\/settings\/imap from autoconfig:https:\/\/autoconfig\.enable\.test\/mail\/config-v1\.1\.xml/);
    assert.match(listed, /en\s*Turn on IMAP access.*de\s*Schalten Sie/s);
    assert.match(listed, /documentation\s*https:\/\/help\.enable\.test\/imap.*en\s*Help with IMAP.*de\s*Hilfe zu IMAP/s);
    await desk.context.close();
  });
});
