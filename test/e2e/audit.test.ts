// The domain audit end to end: a real dnsmasq, real HTTP(S) and TLS mail servers and the real app on
// 127.0.21.0/24 (this suite's loopback range), the desk's Audit view in a real Chromium.
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import type { FastifyInstance } from 'fastify';
import type { Browser } from 'playwright-core';
import { auditResultSchema, type AuditResult } from '../../src/api/audit.js';
import { createNetwork } from '../../src/app.js';
import { testConfig } from '../helpers/config.js';
import { LiveChecker } from '../../src/probes/live-checker.js';
import { buildTestApp } from '../helpers/app.js';
import { autoconfigXml } from '../helpers/autoconfig-docs.js';
import { ARTIFACTS_DIR, buildWidgetForTests, launchBrowser, openPage, saveScreenshot } from '../helpers/browser.js';
import { dnsmasqAvailable } from '../helpers/dnsmasq.js';
import { startDnsmasq, type Dnsmasq } from '../helpers/dnsmasq-server.js';
import { startMailTlsServer, type MailTlsServer } from '../helpers/mail-tls-server.js';
import { startHttp, startHttps, type Started } from '../helpers/servers.js';
import { createTestCa, type TestCa } from '../helpers/test-ca.js';

const RANGE = '127.0.21.0/24';
const APP = '127.0.21.1';
const DNS = { address: '127.0.21.53', port: 5421 };
/** autoconfig.stale.audit.test: plain HTTP only (nothing listens on 443, so HTTPS is refused). */
const AUTOCONFIG_HTTP = '127.0.21.10';
/** The ISPDB (HTTPS, test CA), which knows the current servers. */
const ISPDB = '127.0.21.11';
/** imap.stale (993, certificate for another name) and smtp.stale (465, certificate expiring in 10 days). */
const MAIL = '127.0.21.20';
/** oldmail.stale, the server of the stale document: nothing listens. */
const OLD_MAIL = '127.0.21.21';
const DOMAIN = 'stale.audit.test';

/** A stale plain-HTTP autoconfig (the old server) and the ISPDB's current one; both in Mozilla's format. */
const staleXml = autoconfigXml(DOMAIN).replaceAll(`imap.${DOMAIN}`, `oldmail.${DOMAIN}`).replaceAll(`smtp.${DOMAIN}`, `oldmail.${DOMAIN}`);
const currentXml = autoconfigXml(DOMAIN);

const canRun = dnsmasqAvailable() && existsSync(process.env.CHROMIUM_PATH ?? '/usr/bin/chromium');

describe('audit end to end: stale http autoconfig, bad certificates, no SRV (dnsmasq, TLS servers, Chromium)', { skip: !canRun && 'needs root, dnsmasq and chromium', timeout: 120_000 }, () => {
  let ca: TestCa;
  let dnsmasq: Dnsmasq;
  let app: FastifyInstance;
  let appUrl = '';
  let browser: Browser;
  const web: Started<unknown>[] = [];
  const mail: MailTlsServer[] = [];
  let audit: AuditResult;

  before(async () => {
    ca = createTestCa('mailsettings audit test CA');
    dnsmasq = await startDnsmasq(DNS.address, DNS.port, {
      localZones: ['test'],
      hosts: {
        [`autoconfig.${DOMAIN}`]: [AUTOCONFIG_HTTP],
        'ispdb.audit.test': [ISPDB],
        [`imap.${DOMAIN}`]: [MAIL],
        [`smtp.${DOMAIN}`]: [MAIL],
        [`oldmail.${DOMAIN}`]: [OLD_MAIL],
      },
    });
    web.push(
      await startHttp(AUTOCONFIG_HTTP, (request, response) => {
        if (request.url === '/mail/config-v1.1.xml') return response.end(staleXml);
        response.writeHead(404);
        response.end();
      }),
    );
    web.push(
      await startHttps(ISPDB, ca.issue(['ispdb.audit.test'], { days: 90 }), (request, response) => {
        if (request.url === `/v1.1/${DOMAIN}`) return response.end(currentXml);
        response.writeHead(404);
        response.end();
      }),
    );
    mail.push(await startMailTlsServer(MAIL, 993, 'imap', { host: `imap.${DOMAIN}`, ...ca.issue(['wrong-name.audit.test'], { days: 90 }) }));
    mail.push(await startMailTlsServer(MAIL, 465, 'smtp', { host: `smtp.${DOMAIN}`, ...ca.issue([`smtp.${DOMAIN}`], { days: 10 }) }));

    const env = {
      DNS_SERVERS: dnsmasq.server,
      DNS_TIMEOUT_MS: '500',
      PROBE_ALLOW_CIDRS: RANGE,
      ISPDB_URLS: 'https://ispdb.audit.test/v1.1/',
      LOOKUP_TIMEOUT_MS: '4000',
      HTTP_TIMEOUT_MS: '1500',
      CHECK_TIMEOUT_MS: '3000',
      CHECK_RATE_LIMIT_MAX: '200',
    } as const;
    // The real live checker through the app's own network door (dnsmasq, address policy), trusting the test CA.
    const config = testConfig({ ...env, DNS_TRIES: '1' });
    const network = createNetwork(config);
    const checker = new LiveChecker({ network, timeoutMs: 3_000, cacheTtlS: 60, concurrency: 8, targetLimitMax: 100, targetWindowMs: 60_000, extraCa: [ca.cert] });
    app = await buildTestApp(env, { network, checker, httpCa: ca.cert, widgetDir: await buildWidgetForTests() });
    await app.listen({ host: APP, port: 0 });
    appUrl = `http://${APP}:${(app.server.address() as AddressInfo).port}`;
    browser = await launchBrowser();
  });

  after(async () => {
    await browser?.close();
    await app?.close();
    await Promise.all([...web, ...mail].map((server) => server.stop()));
    await dnsmasq?.stop();
    ca?.dispose();
  });

  it('GET /v1/audit reports the stale http autoconfig, the bad certificates and the missing SRV, each with its fix', async (t) => {
    const response = await fetch(`${appUrl}/v1/audit?domain=${DOMAIN}`);
    assert.equal(response.status, 200);
    const body = await response.text();
    audit = auditResultSchema.parse(JSON.parse(body));
    // Kept for reading (and for the README's example): the real answer of this world.
    await mkdir(ARTIFACTS_DIR, { recursive: true });
    await writeFile(join(ARTIFACTS_DIR, 'audit-stale.json'), body);
    t.diagnostic(`audit of ${DOMAIN}: ${audit.ms} ms, ${audit.methods.length} methods, ${audit.servers.length} servers checked`);
    const byCode = new Map(audit.findings.map((entry) => [`${entry.code}|${entry.servers.join(',')}`, entry]));
    const codes = [...new Set(audit.findings.map((entry) => entry.code))].sort();
    assert.deepEqual(codes, ['certificate_expires_soon', 'certificate_hostname_mismatch', 'http_only_autoconfig', 'server_unreachable', 'sources_disagree', 'srv_missing'], JSON.stringify(audit.findings, null, 2));
    for (const entry of audit.findings) assert.ok(entry.fix.length > 20 && entry.fix.endsWith('.'), `${entry.code} has its fix`);

    const methods = new Map(audit.methods.map((method) => [method.name, method]));
    assert.equal(methods.get('http-autoconfig')?.outcome, 'found');
    assert.equal(methods.get('http-autoconfig')?.agreement, 'disagrees');
    assert.deepEqual(methods.get('http-autoconfig')?.disagreesWith, ['ispdb']);
    assert.equal(methods.get('ispdb')?.outcome, 'found');
    assert.equal(methods.get('autoconfig')?.outcome, 'error', 'nothing listens on 443');
    assert.equal(methods.get('srv')?.outcome, 'not-found');
    assert.match(byCode.get('sources_disagree|')?.message ?? '', /ispdb names imap\.stale\.audit\.test; but http-autoconfig names oldmail\.stale\.audit\.test/);
    assert.match(audit.findings.find((entry) => entry.code === 'http_only_autoconfig')?.message ?? '', /http:\/\/autoconfig\.stale\.audit\.test\/mail\/config-v1\.1\.xml names oldmail/);

    const checks = new Map(audit.servers.map((server) => [server.id, server.check]));
    assert.equal(checks.get(`imap:imap.${DOMAIN}:993:tls`)?.error?.code, 'hostname_mismatch');
    assert.ok(byCode.has(`certificate_hostname_mismatch|imap:imap.${DOMAIN}:993:tls`));
    const smtp = checks.get(`smtp:smtp.${DOMAIN}:465:tls`);
    assert.equal(smtp?.ok, true, JSON.stringify(smtp?.error));
    assert.ok((smtp?.tls?.certificate?.daysLeft ?? 99) < 21);
    assert.match(byCode.get(`certificate_expires_soon|smtp:smtp.${DOMAIN}:465:tls`)?.message ?? '', /expires in (9|10) days/);
    assert.equal(checks.get(`imap:oldmail.${DOMAIN}:993:tls`)?.error?.code, 'connect_refused');
    assert.ok(byCode.has(`server_unreachable|imap:oldmail.${DOMAIN}:993:tls`));
    assert.equal(audit.ok, false);
    assert.ok(mail.every((server) => server.connections >= 1), 'both TLS servers were really checked');
  });

  const open = (url: string) => openPage(browser, url, { viewport: { width: 1200, height: 900 } });

  it('the desk shows the audit as a checklist from a shareable URL, with every raw answer expandable', async () => {
    const { context, page, problems } = await open(`${appUrl}/desk?audit=${DOMAIN}`);
    await page.locator('li.finding').first().waitFor();
    const shown = await page.locator('li.finding').evaluateAll((items) => items.map((item) => item.getAttribute('data-code')));
    assert.deepEqual(shown, audit.findings.map((entry) => entry.code), 'every finding, in the API order');
    const httpOnly = page.locator('li.finding[data-code=http_only_autoconfig]');
    assert.match((await httpOnly.locator('.finding-fix').textContent()) ?? '', /^Fix: Serve the same document over HTTPS/);
    assert.match((await page.locator('li.finding[data-code=srv_missing] .finding-fix').textContent()) ?? '', /_imaps\._tcp/);
    assert.match((await page.locator('.verdict').textContent()) ?? '', /Problems found/);
    assert.match((await page.locator('#status').textContent()) ?? '', /stale\.audit\.test: \d+ problems, \d+ warnings, 0 notes/);

    // The methods read at a glance: ✓ for the ISPDB, ✗ for the stale plain-HTTP copy and the refused HTTPS host.
    const markOf = (name: string) => page.locator(`li.method[data-method="${name}"] > .mark`).textContent();
    assert.equal(await markOf('ispdb'), '✓');
    assert.equal(await markOf('http-autoconfig'), '✗');
    assert.equal(await markOf('autoconfig'), '✗');
    assert.equal(await markOf('srv'), '–');
    assert.match((await page.locator('li.method[data-method="http-autoconfig"] .agreement').textContent()) ?? '', /disagrees with ISPDB/);
    assert.match((await page.locator('li.method[data-method="ispdb"] .agreement').textContent()) ?? '', /^other servers in Autoconfig \(plain HTTP\)$/);

    await saveScreenshot(await page.screenshot({ fullPage: true }), 'desk-audit.png', 'desk-audit.png');
    // A method's raw answer opens on request.
    const raw = page.locator('li.method[data-method="http-autoconfig"] details.raw');
    assert.equal(await raw.locator('pre').isVisible(), false);
    await raw.locator('summary').click();
    assert.match((await raw.locator('pre').textContent()) ?? '', /"host": "oldmail\.stale\.audit\.test"/);
    assert.equal(await page.locator(`tr[data-server="imap:imap.${DOMAIN}:993:tls"] .pill`).textContent(), 'hostname_mismatch');
    assert.deepEqual(problems, []);
    await context.close();
  });

  it('the Audit button turns a typed address into the audit of its domain, with a URL that reproduces it', async () => {
    const { context, page, problems } = await open(`${appUrl}/desk`);
    await page.getByLabel('Email address or domain').fill(`jane@${DOMAIN}`);
    await page.getByRole('button', { name: 'Audit domain' }).click();
    await page.locator('li.finding').first().waitFor();
    const url = new URL(page.url());
    assert.equal(url.pathname, '/desk');
    assert.equal(url.searchParams.get('audit'), DOMAIN);
    assert.equal(url.searchParams.get('q'), null);
    assert.match((await page.locator('#status').textContent()) ?? '', /from cache/);
    // Back to a lookup and forward again: the view follows the URL.
    await page.getByRole('button', { name: 'Look up' }).click();
    await page.locator('#h-sources').waitFor();
    assert.equal(await page.locator('li.finding').count(), 0);
    await page.goBack();
    await page.locator('li.finding').first().waitFor();
    // On a phone the form (with its extra button) wraps and the audit's tables scroll in their own box.
    await page.setViewportSize({ width: 375, height: 800 });
    const width = (await page.evaluate('[document.documentElement.scrollWidth, document.documentElement.clientWidth]')) as number[];
    assert.ok((width[0] ?? 999) <= (width[1] ?? 0), `the audit view scrolls sideways: ${width.join(' > ')}`);
    assert.deepEqual(problems, []);
    await context.close();
  });
});
