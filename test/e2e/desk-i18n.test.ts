// The support desk in each of its languages, in headless Chromium: the real app on 127.0.22.1, a DNS
// server on 127.0.22.53 and the domains' HTTPS host on 127.0.22.20 (this suite's loopback range).
// Lookups, live checks and the Audit view (of stale.desk.test, whose plain-HTTP autoconfig on
// 127.0.22.21 contradicts its SRV records) are rendered in every language.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { FastifyInstance } from 'fastify';
import type { Browser, Page } from 'playwright-core';
import type { Check } from '../../src/api/schemas.js';
import type { CheckTarget } from '../../src/probes/types.js';
import { FakeChecker, freeUdpPort, launchBrowser, openPage, saveScreenshot, startBrowserApp } from '../helpers/browser.js';
import { TestDnsServer } from '../helpers/dns-server.js';
import { autoconfigXml } from '../helpers/autoconfig-docs.js';
import { DESK_SAME_AS_ENGLISH, flatten, TECHNICAL_NAMES } from '../helpers/i18n-check.js';
import { auditResultSchema, type AuditResult } from '../../src/api/audit.js';
import { startHttp, startHttps, type Started } from '../helpers/servers.js';
import { createTestCa, type TestCa } from '../helpers/test-ca.js';
import { DESK_STRINGS, deskEn, type DeskStrings } from '../../widget/src/desk-i18n.js';
import { fill } from '../../widget/src/i18n.js';

const APP_HOST = '127.0.22.1';
const WEB_HOST = '127.0.22.20';
const DNS_HOST = '127.0.22.53';
/** autoconfig.stale.desk.test: plain HTTP only (nothing listens on 443, so HTTPS is refused). */
const STALE_WEB_HOST = '127.0.22.21';
/** The audited domain: SRV records name its current servers, the plain-HTTP autoconfig an old one. */
const STALE = 'stale.desk.test';

/** The stale document: the old IMAP host, and POP3 without TLS (which the fake checker refuses). */
const STALE_AUTOCONFIG = autoconfigXml(STALE)
  .replaceAll(`imap.${STALE}`, `oldmail.${STALE}`)
  .replaceAll(`smtp.${STALE}`, `oldmail.${STALE}`)
  .replace(
    '<outgoingServer',
    `<incomingServer type="pop3"><hostname>oldmail.${STALE}</hostname><port>110</port><socketType>plain</socketType><username>%EMAILADDRESS%</username><authentication>password-cleartext</authentication></incomingServer>
    <outgoingServer`,
  );

/** The fake checker, with the audited domain's hosts at addresses of their own: an audit tells servers apart by the address a check reached. */
class AddressedChecker extends FakeChecker {
  override async check(target: CheckTarget): Promise<Check> {
    const check = await super.check(target);
    const own: Record<string, string> = { [`imap.${STALE}`]: '127.0.22.30', [`smtp.${STALE}`]: '127.0.22.30', [`oldmail.${STALE}`]: '127.0.22.31' };
    return { ...check, address: own[target.host] ?? check.address };
  }
}

/** Autoconfig for moved.test: its own servers (while its MX is at Gmail) and an <enable> instruction in two languages. */
const MOVED_AUTOCONFIG = autoconfigXml('moved.test').replace(
  '</emailProvider>',
  `<enable visiturl="https://mail.moved.test/settings/imap">
  <instruction lang="en">Turn on IMAP access under Settings, then Mail apps.</instruction>
  <instruction lang="de">Schalten Sie unter Einstellungen, Mail-Apps den IMAP-Zugriff ein.</instruction>
</enable>
</emailProvider>`,
);

const escapeRegExp = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/** A template as a pattern: the given values literally, every other `{placeholder}` as any text. */
function templatePattern(template: string, values: Record<string, string | number> = {}): RegExp {
  const parts = template.split(/\{(\w+)\}/);
  const source = parts.map((part, index) => (index % 2 === 0 ? escapeRegExp(part) : part in values ? escapeRegExp(String(values[part])) : '.+?'));
  return new RegExp(`^${source.join('')}$`, 's');
}

/** A pattern that finds `phrase` as whole words (no letter, digit, _ or - on either side: `enable-imap` is a code, not the word "enable"). */
const wholeWords = (phrase: string) => new RegExp(`(?<![\\p{L}\\p{N}_-])${escapeRegExp(phrase)}(?![\\p{L}\\p{N}_-])`, 'u');

/**
 * The English phrases that must not show on a page in `code`: each English string's text between its
 * placeholders, with a word of three letters or more, that its translation does not also contain and
 * that is no word of the language itself (Italian writes "Note" as the plural of "Nota").
 */
function englishPhrases(code: string): string[] {
  const translated = flatten(DESK_STRINGS[code]);
  const everyTranslation = [...translated.values()].map(String);
  const phrases = new Set<string>();
  for (const [key, english] of flatten(deskEn)) {
    const own = String(translated.get(key));
    for (const fragment of String(english).split(/\{\w+\}/)) {
      const phrase = fragment.replace(/^[^\p{L}]+|[^\p{L}]+$/gu, '');
      if (!/\p{L}{3,}/u.test(phrase.replace(TECHNICAL_NAMES, ' ')) || own.includes(phrase)) continue;
      if (everyTranslation.some((text) => wholeWords(phrase).test(text))) continue;
      phrases.add(phrase);
    }
  }
  return [...phrases];
}

/** Browser-side: the page's language, title, its label-like texts, and its text without the API's English prose, code and raw JSON. */
const PAGE_TEXT = `(() => {
  const labels = [...document.querySelectorAll('label, button, th, caption, dt, h2, summary, .pill, nav a, .sub, .hints > strong, p.muted, .verdict-line strong, .item-head strong, .finding-fix > strong')]
    .map((element) => element.textContent.trim());
  const body = document.body.cloneNode(true);
  body.querySelectorAll('[lang="en"], code, pre, noscript, script').forEach((element) => element.remove());
  // Text node by text node, spaced: a button's label must not run into the next one's ("startenAudit").
  const walker = document.createTreeWalker(body, NodeFilter.SHOW_TEXT);
  const texts = [];
  while (walker.nextNode()) texts.push(walker.currentNode.nodeValue);
  return { lang: document.documentElement.lang, title: document.title, labels, text: texts.join(' ').replace(/\\s+/g, ' ') };
})()`;

interface PageText {
  lang: string;
  title: string;
  labels: string[];
  text: string;
}

/** Fails when a label is an English string its translation replaces, or the page shows an English phrase. */
async function assertNoEnglish(page: Page, code: string): Promise<void> {
  if (code === 'en') return;
  const { labels, text } = (await page.evaluate(PAGE_TEXT)) as PageText;
  const english = new Set(flatten(deskEn).values() as Iterable<string>);
  const own = new Set(flatten(DESK_STRINGS[code]).values() as Iterable<string>);
  assert.deepEqual(labels.filter((label) => english.has(label) && !own.has(label)), [], `${code}: English labels`);
  const leftovers = englishPhrases(code).flatMap((phrase) => {
    const match = wholeWords(phrase).exec(text);
    return match ? [`"${phrase}" in …${text.slice(Math.max(0, match.index - 40), match.index + phrase.length + 40)}…`] : [];
  });
  assert.deepEqual(leftovers, [], `${code}: English phrases on the page`);
}

/**
 * Stricter for the Audit view: no English of `deskEn.audit` on the page even where the language's own
 * table still has it (an untranslated leftover), unless the language writes that string as English
 * does (DESK_SAME_AS_ENGLISH) or another of its strings has the same word(s).
 */
async function assertNoEnglishAudit(page: Page, code: string): Promise<void> {
  if (code === 'en') return;
  const { text } = (await page.evaluate(PAGE_TEXT)) as PageText;
  const translated = [...flatten(DESK_STRINGS[code])];
  const leftovers: string[] = [];
  for (const [key, english] of flatten(deskEn.audit, 'audit')) {
    if ((DESK_SAME_AS_ENGLISH[code] ?? []).includes(key)) continue;
    for (const fragment of String(english).split(/\{\w+\}/)) {
      const phrase = fragment.replace(/^[^\p{L}]+|[^\p{L}]+$/gu, '');
      if (!/\p{L}{3,}/u.test(phrase.replace(TECHNICAL_NAMES, ' '))) continue;
      if (translated.some(([other, own]) => other !== key && wholeWords(phrase).test(String(own)))) continue;
      if (wholeWords(phrase).test(text)) leftovers.push(`${key}: "${phrase}"`);
    }
  }
  assert.deepEqual(leftovers, [], `${code}: English of the Audit view on the page`);
}

const textOf = async (page: Page, selector: string) => ((await page.locator(selector).first().textContent()) ?? '').trim();

// Ten languages, four pages each (the Audit view included), on a shared 2-core machine: room to spare.
describe('support desk in each language in Chromium', { timeout: 300_000 }, () => {
  let browser: Browser;
  let app: FastifyInstance;
  let appUrl: string;
  let dns: TestDnsServer;
  let ca: TestCa;
  let web: Started<unknown>;
  let staleWeb: Started<unknown>;
  const checker = new AddressedChecker();

  before(async () => {
    // Every name the app resolves goes to this loopback DNS server: nothing leaves the machine.
    dns = new TestDnsServer(DNS_HOST, await freeUdpPort(DNS_HOST));
    dns.set('autoconfig.moved.test', [{ type: 'A', address: WEB_HOST }]);
    dns.set('moved.test', [{ type: 'MX', exchange: 'aspmx.l.google.com', priority: 1 }]);
    dns.set('jmap-only.test', [{ type: 'A', address: WEB_HOST }]);
    dns.set(`autoconfig.${STALE}`, [{ type: 'A', address: STALE_WEB_HOST }]);
    dns.set(`_imaps._tcp.${STALE}`, [{ type: 'SRV', target: `imap.${STALE}`, port: 993, priority: 0, weight: 1 }]);
    dns.set(`_submissions._tcp.${STALE}`, [{ type: 'SRV', target: `smtp.${STALE}`, port: 465, priority: 0, weight: 1 }]);
    await dns.start();
    ca = createTestCa();
    web = await startHttps(WEB_HOST, ca.issue(['autoconfig.moved.test', 'jmap-only.test']), (request, response) => {
      if (request.headers.host === 'autoconfig.moved.test' && request.url?.startsWith('/mail/config-v1.1.xml')) return response.end(MOVED_AUTOCONFIG);
      // jmap-only.test publishes only its JMAP session (RFC 8620 §2.2).
      const jmap = request.headers.host === 'jmap-only.test' && request.url === '/.well-known/jmap';
      response.writeHead(jmap ? 307 : 404, jmap ? { location: 'https://api.jmap-only.test/jmap/session' } : {});
      response.end();
    });
    staleWeb = await startHttp(STALE_WEB_HOST, (request, response) => {
      if (request.headers.host === `autoconfig.${STALE}` && request.url?.startsWith('/mail/config-v1.1.xml')) return response.end(STALE_AUTOCONFIG);
      response.writeHead(404);
      response.end();
    });
    ({ app, url: appUrl } = await startBrowserApp(
      {
        DNS_SERVERS: dns.server,
        DNS_TIMEOUT_MS: '300',
        DNS_TRIES: '1',
        PROBE_ALLOW_CIDRS: `${WEB_HOST}/32,${STALE_WEB_HOST}/32`,
        // Ten languages from one address: more lookups and live checks than one person makes in a window.
        RATE_LIMIT_MAX: '1000',
        CHECK_RATE_LIMIT_MAX: '1000',
        CHECK_TARGET_LIMIT_MAX: '1000',
      },
      { checker, httpCa: ca.cert },
      APP_HOST,
    ));
    browser = await launchBrowser();
  });

  after(async () => {
    await browser?.close();
    await app?.close();
    await dns?.stop();
    await web?.stop();
    await staleWeb?.stop();
    ca?.dispose();
  });

  /** The answer with live checks: form, status, summary, server tables, source steps and check cards in `code`. */
  async function assertAnswer(page: Page, code: string, t: DeskStrings): Promise<void> {
    await page.locator('.checks article').first().waitFor();
    const { lang, title } = (await page.evaluate(PAGE_TEXT)) as PageText;
    assert.deepEqual([lang, title], [code, t.page.title]);
    assert.equal(await textOf(page, 'label[for=q]'), t.page.queryLabel);
    assert.equal(await page.locator('#q').getAttribute('placeholder'), t.page.queryPlaceholder);
    assert.deepEqual([await textOf(page, '#go'), await textOf(page, '#run-checks'), await textOf(page, '#share')], [t.page.lookUp, t.page.runChecks, t.page.copyLink]);
    assert.equal(await page.getByLabel(t.page.bypassCache, { exact: true }).isChecked(), false);
    assert.deepEqual(await page.locator('nav a').allTextContents(), [t.page.helpPage, t.page.apiDocs]);
    assert.match(await textOf(page, '#status'), templatePattern(t.status.answerChecked, { domain: 'example-mail.test', servers: 5, passed: 5, checked: 5 }));
    assert.equal(await textOf(page, '#h-summary'), t.answer.heading);
    assert.deepEqual(await page.locator('.summary dt').allTextContents(), [t.answer.domain, t.answer.address, t.answer.provider, t.answer.recommended, t.answer.cache, t.answer.roundTrip]);
    assert.equal(await textOf(page, '.hints > strong'), t.answer.hints);
    assert.match(await textOf(page, '.hints li:last-child'), templatePattern(t.answer.documentation, { url: 'https://help.example-mail.test/settings' }));
    assert.equal(await textOf(page, '#h-servers'), t.servers.heading);
    assert.deepEqual(await page.locator('table caption').allTextContents(), [t.servers.incoming, t.servers.outgoing]);
    const s = t.servers;
    assert.deepEqual(await page.locator('table').first().locator('th').allTextContents(), ['#', s.protocol, s.host, s.port, s.security, s.username, s.login, s.source, s.liveCheck]);
    const firstRow = page.locator('table').first().locator('tbody tr').first();
    assert.equal(await firstRow.locator('.pill.rec').textContent(), s.recommended);
    assert.equal(await firstRow.locator('td').nth(6).textContent(), fill(s.methodsWithIssuer, { methods: 'password-cleartext, oauth2', issuer: 'login.example-mail.test' }));
    assert.equal(await firstRow.locator('td:last-child .pill').textContent(), s.checkOk);
    assert.match(await textOf(page, '#h-sources'), templatePattern(t.trace.sources));
    assert.equal(await textOf(page, 'ol.steps > li.found .pill'), t.outcome.found);
    assert.equal(await textOf(page, 'ol.steps > li.skipped .pill'), t.outcome.skipped);
    assert.equal(await textOf(page, '#h-checks'), t.checks.heading);
    const card = page.locator('.checks article[data-server="imap:imap.example-mail.test:143"]');
    const c = t.checks;
    assert.deepEqual(await card.locator('dt').allTextContents(), [c.address, c.security, c.timing, c.greeting, 'TLS', c.trusted, c.certificate, c.issuer, c.valid, c.names, c.hostMatches, c.loginMethods]);
    assert.equal(await card.locator('h3 .pill').first().textContent(), c.reachable);
    assert.equal(await card.locator('dd').nth(1).textContent(), fill(c.starttlsOffered, { security: 'STARTTLS' }));
    assert.equal(await card.locator('dd').nth(8).textContent(), fill(c.validValue, { from: '2026-11-01', to: '2027-01-15', days: 12 }));
    assert.equal(await card.locator('summary').textContent(), c.details);
    assert.equal(await textOf(page, 'details.raw summary'), t.answer.raw);
  }

  /** moved.test: the warnings heading, the document's instructions with their kind, and "… from <source>". */
  async function assertWarningsAndInstructions(page: Page, t: DeskStrings): Promise<void> {
    await page.locator('section.warnings').waitFor();
    const count = await page.locator('section.warnings li').count();
    assert.equal(await textOf(page, '#h-warnings'), fill(t.trace.warnings, { count }));
    assert.equal(await textOf(page, '.instructions > strong'), t.answer.instructions);
    const entry = page.locator('.instructions li[data-kind=enable]');
    assert.equal(await entry.locator('.pill').first().textContent(), t.instructionKind.enable);
    const source = (await entry.locator(':scope > code').textContent()) ?? '';
    // The entry's own line, without its list of texts. (Runs in the page: its DOM nodes are untyped here.)
    const line = await entry.evaluate((item) =>
      [...item.childNodes]
        .filter((node) => node.nodeName !== 'UL')
        .map((node) => node.textContent)
        .join(''),
    );
    assert.equal(line, `${t.instructionKind.enable} ${fill(t.trace.from, { what: 'https://mail.moved.test/settings/imap', source })}`);
  }

  /** jmap-only.test: the not-found status, the other access methods and an outcome of the trace. */
  async function assertNotFound(page: Page, t: DeskStrings): Promise<void> {
    await page.locator('ul.alternatives').waitFor();
    assert.match(await textOf(page, '#status'), templatePattern(t.status.notFound));
    // The API's own message is English whatever the desk's language, and marked so.
    assert.match(await textOf(page, '#status [lang=en]'), /jmap-only\.test/);
    assert.equal(await textOf(page, '#h-alternatives'), t.trace.alternatives);
    assert.equal(await textOf(page, '#h-alternatives + p'), t.trace.alternativesNote);
    assert.match(await textOf(page, 'ol.steps > li.not-found .pill'), new RegExp(`^${escapeRegExp(t.outcome['not-found'])}$`));
  }

  /**
   * The Audit view of stale.desk.test in `t`'s language: every label of the audit section, checked
   * against the audit the page shows (its raw JSON); the API's messages and fixes stay English.
   */
  async function assertAudit(page: Page, t: DeskStrings): Promise<void> {
    const a = t.audit;
    await page.locator('li.finding').first().waitFor();
    const audit = auditResultSchema.parse(JSON.parse((await page.locator('#out > section:last-child details.raw pre').textContent()) ?? ''));
    const { errors, warnings, notes } = audit.summary;
    assert.equal(await textOf(page, '#run-audit'), a.button);
    assert.match(await textOf(page, '#status'), templatePattern(audit.cached ? a.statusCached : a.status, { domain: STALE, errors, warnings, notes }));
    assert.equal(await textOf(page, '#h-audit'), fill(a.heading, { domain: STALE }));
    assert.equal(await textOf(page, '.verdict-line strong'), a.verdictBad);
    assert.deepEqual(await page.locator('.verdict-line .pill').allTextContents(), [fill(a.counts.error, { count: errors }), fill(a.counts.warning, { count: warnings }), fill(a.counts.info, { count: notes })]);
    assert.match(await textOf(page, '.verdict p.muted'), templatePattern(a.checkedAt));
    assert.equal(await page.locator('.verdict time').getAttribute('datetime'), audit.checkedAt);
    await assertFindings(page, t, audit);

    assert.equal(await textOf(page, '#h-methods'), fill(a.methods, { count: audit.methods.length }));
    const names = a.methodNames as Readonly<Record<string, string>>;
    const outcomes = t.outcome as Readonly<Record<string, string>>;
    for (const method of audit.methods) {
      const head = page.locator(`li.method[data-method="${method.name}"] .item-head`);
      assert.deepEqual([await head.locator('> strong').textContent(), await head.locator('> .pill').textContent()], [names[method.name], outcomes[method.outcome]]);
    }
    // The SRV records name the current servers, the plain-HTTP autoconfig the old ones: each line says so.
    const method = (name: string) => page.locator(`li.method[data-method="${name}"]`);
    assert.equal(await textOf(page, 'li.method[data-method="srv"] .agreement'), fill(a.othersDiffer, { names: names['http-autoconfig'] ?? '' }));
    assert.equal(await textOf(page, 'li.method[data-method="http-autoconfig"] .agreement'), fill(a.disagreesWith, { names: names.srv ?? '' }));
    const says = await method('http-autoconfig').locator('.method-says').textContent();
    assert.ok(says?.startsWith(`${a.says} IMAP oldmail.${STALE}:993 (TLS)`) && says.includes(`POP3 oldmail.${STALE}:110 (${a.noTls})`), says ?? '');
    assert.equal(await method('http-autoconfig').locator('p.muted').last().textContent(), fill(t.trace.asked, { url: `http://autoconfig.${STALE}/mail/config-v1.1.xml` }));
    assert.equal(await method('srv').locator('details.raw summary').textContent(), a.rawMethod);

    assert.equal(await textOf(page, '#h-audit-servers'), fill(a.servers, { count: audit.servers.length }));
    assert.deepEqual(await page.locator('table.audit-servers th').allTextContents(), [...a.columns]);
    const row = (id: string) => page.locator(`table.audit-servers tr[data-server="${id}"]`);
    assert.equal(await row(`imap:imap.${STALE}:993:tls`).locator('.pill').textContent(), t.servers.checkOk);
    assert.equal(await row(`imap:imap.${STALE}:993:tls`).locator('td').nth(1).textContent(), names.srv);
    assert.match((await row(`imap:imap.${STALE}:993:tls`).locator('td').nth(3).textContent()) ?? '', templatePattern(`CN=imap.${STALE} · ${a.daysLeft}`, { days: 49 }));
    assert.equal(await row(`pop3:oldmail.${STALE}:110:none`).locator('.pill').textContent(), 'connect_refused');
    assert.match((await row(`pop3:oldmail.${STALE}:110:none`).locator('[lang=en]').textContent()) ?? '', /refused the connection/);
    assert.equal(await textOf(page, '#out > section:last-child summary'), t.answer.raw);
  }

  /** The findings: each one's severity and title in the desk's language, its code, its English message and fix. */
  async function assertFindings(page: Page, t: DeskStrings, audit: AuditResult): Promise<void> {
    const a = t.audit;
    const codes = audit.findings.map((finding) => finding.code);
    for (const code of ['server_unreachable', 'sources_disagree', 'http_only_autoconfig', 'plaintext_server_published'] as const) assert.ok(codes.includes(code), `${code} in ${codes.join()}`);
    assert.equal(await textOf(page, '#h-findings'), fill(a.findings, { count: audit.findings.length }));
    const items = page.locator('li.finding');
    assert.equal(await items.count(), audit.findings.length);
    for (const [index, finding] of audit.findings.entries()) {
      const item = items.nth(index);
      const head = item.locator('.item-head');
      assert.deepEqual(
        [await head.locator('.pill').textContent(), await head.locator('.finding-title').textContent(), await head.locator('code').textContent()],
        [a.severities[finding.severity], a.codes[finding.code], finding.code],
      );
      assert.equal(await item.locator('.finding-message[lang=en]').textContent(), finding.message);
      assert.deepEqual([await item.locator('.finding-fix > strong').textContent(), await item.locator('.finding-fix > [lang=en]').textContent()], [a.fix, finding.fix]);
    }
  }

  for (const [code, t] of Object.entries(DESK_STRINGS)) {
    it(`speaks ${code} with ?lang=${code}: form, status, answer, servers, sources, checks, warnings, instructions, alternatives; no English left`, async () => {
      const { context, page, problems } = await openPage(browser, `${appUrl}/desk?q=jane%40example-mail.test&check=1&lang=${code}`, { viewport: { width: 1280, height: 900 } });
      await assertAnswer(page, code, t);
      await assertNoEnglish(page, code);
      if (code === 'de' || code === 'ja') await saveScreenshot(await page.screenshot({ fullPage: true }), `desk-${code}.png`);

      await page.goto(`${appUrl}/desk?q=moved.test&lang=${code}`);
      await assertWarningsAndInstructions(page, t);
      await assertNoEnglish(page, code);

      await page.goto(`${appUrl}/desk?q=jmap-only.test&lang=${code}`);
      await assertNotFound(page, t);
      await assertNoEnglish(page, code);

      await page.goto(`${appUrl}/desk?audit=${STALE}&lang=${code}`);
      await assertAudit(page, t);
      await assertNoEnglish(page, code);
      await assertNoEnglishAudit(page, code);
      if (code === 'fr' || code === 'ja') await saveScreenshot(await page.screenshot({ fullPage: true }), `desk-audit-${code}.png`);
      // The not-found lookup is a 404, which Chromium logs as a failed resource: the only console error allowed.
      assert.deepEqual(problems.filter((problem) => !/status of 404 \(Not Found\)/.test(problem)), []);
      await context.close();
    });
  }

  it("takes the browser's language without ?lang= (de-DE → German), falls back to English (zh-CN), and ?lang= wins", async () => {
    const german = await openPage(browser, `${appUrl}/desk?q=example-mail.test`, { locale: 'de-DE' });
    await german.page.locator('ol.steps').waitFor();
    assert.equal(await german.page.evaluate('document.documentElement.lang'), 'de');
    assert.equal(await textOf(german.page, '#h-servers'), DESK_STRINGS.de!.servers.heading);
    // A link made here carries no lang: each colleague reads it in their own language.
    await german.page.getByLabel(DESK_STRINGS.de!.page.queryLabel).fill('jane@example-mail.test');
    await german.page.getByRole('button', { name: DESK_STRINGS.de!.page.lookUp, exact: true }).click();
    await german.page.waitForURL(/q=jane%40example-mail\.test/);
    assert.doesNotMatch(german.page.url(), /lang=/);
    await german.context.close();

    const chinese = await openPage(browser, `${appUrl}/desk?q=example-mail.test`, { locale: 'zh-CN' });
    await chinese.page.locator('ol.steps').waitFor();
    assert.equal(await chinese.page.evaluate('document.documentElement.lang'), 'en');
    assert.equal(await textOf(chinese.page, '#h-servers'), deskEn.servers.heading);
    await chinese.context.close();

    const french = await openPage(browser, `${appUrl}/desk?q=example-mail.test&lang=fr`, { locale: 'de-DE' });
    await french.page.locator('ol.steps').waitFor();
    assert.equal(await textOf(french.page, '#h-servers'), DESK_STRINGS.fr!.servers.heading);
    // An explicitly chosen language stays in the shareable URL.
    await french.page.getByLabel(DESK_STRINGS.fr!.page.queryLabel).fill('moved.test');
    await french.page.getByRole('button', { name: DESK_STRINGS.fr!.page.lookUp, exact: true }).click();
    await french.page.waitForURL(/q=moved\.test/);
    assert.match(french.page.url(), /[?&]lang=fr(&|$)/);
    await french.context.close();
  });

  it('says in the chosen language when the field is empty, when the link is copied, and audits a typed address keeping the language', async () => {
    const t = DESK_STRINGS.ja!;
    const { context, page, problems } = await openPage(browser, `${appUrl}/desk?lang=ja`, { permissions: ['clipboard-read', 'clipboard-write'] });
    await page.getByRole('button', { name: t.page.runChecks }).click();
    assert.equal(await textOf(page, '#status'), t.page.enterQuery);
    await page.getByRole('button', { name: t.audit.button }).click();
    assert.equal(await textOf(page, '#status'), t.audit.needDomain);
    await page.getByLabel(t.page.queryLabel).fill('example-mail.test');
    await page.getByRole('button', { name: t.page.lookUp, exact: true }).click();
    await page.getByRole('button', { name: t.page.copyLink }).click();
    await page.getByText(t.page.linkCopied).waitFor();
    assert.match(String(await page.evaluate('navigator.clipboard.readText()')), /\/desk\?q=example-mail\.test&lang=ja$/);
    // The Audit button audits a typed address's domain, and the link keeps the chosen language.
    await page.getByLabel(t.page.queryLabel).fill(`jane@${STALE}`);
    await page.getByRole('button', { name: t.audit.button }).click();
    await page.waitForURL(/audit=stale\.desk\.test&lang=ja$/);
    await page.locator('#h-audit').waitFor();
    assert.equal(await textOf(page, '#h-audit'), fill(t.audit.heading, { domain: STALE }));
    assert.deepEqual(problems, []);
    await context.close();
  });
});
