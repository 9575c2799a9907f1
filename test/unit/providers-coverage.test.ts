import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, mkdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { bestAutoconfigServer, measureCoverage } from '../../src/provider-db/coverage.js';
import { ProviderDb } from '../../src/provider-db/provider-db.js';
import type { Provider } from '../../src/provider-db/schema.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const exec = promisify(execFile);

type Server = { type: string; host: string; port: number; socket: string };

/** A small made-up autoconfig file. */
function xml(domains: string[], incoming: Server[]): string {
  const servers = incoming
    .map(
      (server) => `<incomingServer type="${server.type}"><hostname>${server.host}</hostname><port>${server.port}</port>` +
        `<socketType>${server.socket}</socketType><username>%EMAILADDRESS%</username><authentication>password-cleartext</authentication></incomingServer>`,
    )
    .join('');
  return `<?xml version="1.0"?><clientConfig version="1.1"><emailProvider id="${domains[0]}">` +
    `${domains.map((domain) => `<domain>${domain}</domain>`).join('')}<domain purpose="mx">mx.${domains[0]}</domain>` +
    `${servers}<outgoingServer type="smtp"><hostname>smtp.${domains[0]}</hostname><port>465</port><socketType>SSL</socketType></outgoingServer>` +
    `</emailProvider></clientConfig>`;
}

function provider(id: string, domains: string[], incoming: Provider['incoming'], hints: Provider['hints'] = []): Provider {
  return { id, name: id, domains, mxSuffixes: [], incoming, outgoing: [], documentation: [], hints, lastVerified: '2026-11-30' };
}
type Incoming = Provider['incoming'][number];
const server = (protocol: Incoming['protocol'], host: string, port: number, security: Incoming['security']): Incoming => ({
  protocol, host, port, security, username: '%EMAILADDRESS%', authentication: ['password-cleartext'],
});
const imap = (host: string, port = 993, security: Incoming['security'] = 'tls') => server('imap', host, port, security);
const pop3 = (host: string, port = 995, security: Incoming['security'] = 'tls') => server('pop3', host, port, security);

const db = new ProviderDb([
  [
    // Same best server; our file lists POP3 first, the service still recommends IMAP.
    provider('alpha', ['alpha.test', 'alpha-alias.test'], [pop3('pop.alpha.test'), imap('imap.alpha.test')]),
    // Another host than the file: a mismatch.
    provider('beta', ['beta.test'], [imap('mail.beta.test')]),
    // Another host, and the file says why (a hint naming the ISPDB): a documented difference.
    provider('gamma', ['gamma.test'], [imap('imap.gamma.test')], [{ kind: 'other', text: 'The ISPDB still lists POP3 only; gamma documents IMAP.' }]),
  ],
]);

const files = [
  { file: 'alpha.test.xml', xml: xml(['alpha.test', 'alpha-alias.test', 'alpha-unknown.test'], [
    { type: 'imap', host: 'imap.alpha.test', port: 143, socket: 'plain' },
    { type: 'imap', host: 'imap.alpha.test', port: 993, socket: 'SSL' },
    { type: 'pop3', host: 'pop.alpha.test', port: 995, socket: 'SSL' },
  ]) },
  { file: 'beta.test.xml', xml: xml(['beta.test'], [{ type: 'imap', host: 'imap.beta.test', port: 993, socket: 'SSL' }]) },
  { file: 'gamma.test.xml', xml: xml(['gamma.test'], [{ type: 'pop3', host: 'pop.gamma.test', port: 995, socket: 'SSL' }]) },
  { file: 'delta.test.xml', xml: xml(['delta.test'], [{ type: 'imap', host: 'mail.%EMAILDOMAIN%', port: 993, socket: 'SSL' }]) },
  { file: 'broken.xml', xml: '<clientConfig><emailProvider>' },
];

describe('providers:coverage matching', () => {
  it('takes the first encrypted IMAP server of a file, else POP3 (plaintext only when nothing else exists)', () => {
    assert.deepEqual(bestAutoconfigServer([{ ...imap('a.test', 143, 'none') }, { ...imap('a.test', 993) }, { ...pop3('p.test') }]), {
      protocol: 'imap', host: 'a.test', port: 993, security: 'tls',
    });
    assert.deepEqual(bestAutoconfigServer([{ ...pop3('p.test', 110, 'none') }]), { protocol: 'pop3', host: 'p.test', port: 110, security: 'none' });
    assert.equal(bestAutoconfigServer([]), undefined);
  });

  it('counts every <domain> (not purpose="mx"), which are answered, and which get the same best server', () => {
    const report = measureCoverage(db, files);
    assert.equal(report.files, 5);
    assert.deepEqual(report.unreadable.map((entry) => entry.file), ['broken.xml']);
    assert.equal(report.total, 6);
    assert.equal(report.answered, 4);
    // alpha.test and alpha-alias.test match; gamma differs for a documented reason; beta does not match.
    assert.equal(report.sameBest, 3);
    assert.equal(report.documented, 1);
    const byDomain = new Map(report.domains.map((entry) => [entry.domain, entry]));
    assert.equal(byDomain.get('alpha-alias.test')?.same, true);
    assert.equal(byDomain.get('alpha-unknown.test')?.providerId, undefined);
    assert.equal(byDomain.get('beta.test')?.same, false);
    assert.equal(byDomain.get('beta.test')?.documentedDifference, false);
    assert.equal(byDomain.get('gamma.test')?.documentedDifference, true);
    assert.equal(byDomain.has('mx.alpha.test'), false);
    // %EMAILDOMAIN% is filled in for the domain measured.
    assert.equal(byDomain.get('delta.test')?.expected?.host, 'mail.delta.test');
  });

  it('runs offline on a folder of XML files and prints the totals and the mismatches', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'providers-coverage-'));
    try {
      await mkdir(path.join(dir, 'ispdb'));
      await writeFile(path.join(dir, 'ispdb', 'example-mail.test.xml'), xml(['example-mail.test'], [{ type: 'imap', host: 'imap.example-mail.test', port: 993, socket: 'SSL' }]));
      await writeFile(path.join(dir, 'ispdb', 'nobody.test.xml'), xml(['nobody.test'], [{ type: 'imap', host: 'imap.nobody.test', port: 993, socket: 'SSL' }]));
      const providers = fileURLToPath(new URL('../fixtures/providers/', import.meta.url));
      const { stdout } = await exec(process.execPath, ['--import', 'tsx', 'scripts/providers-coverage.ts', dir, '--providers', providers], { cwd: ROOT });
      assert.match(stdout, /^ISPDB domains: 2$/m);
      assert.match(stdout, /^answered offline: 1 \(50\.0%\)$/m);
      assert.match(stdout, /^same best server: \d of 1 /m);
      assert.match(stdout, /nobody\.test\.xml: 1 domains/);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
