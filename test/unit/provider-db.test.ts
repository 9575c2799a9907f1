import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { providerJsonSchema } from '../../src/provider-db/json-schema.js';
import { checkProviders } from '../../src/provider-db/check.js';
import { BUILT_IN_PROVIDERS_DIR, ProviderDb, ProviderDbError, loadProviderDb, readProviderDir } from '../../src/provider-db/provider-db.js';
import { FIXTURE_PROVIDERS_DIR } from '../helpers/app.js';

const fixtures = (name: string) => fileURLToPath(new URL(`../fixtures/${name}/`, import.meta.url));

describe('shipped provider database', async () => {
  const providers = await readProviderDir(BUILT_IN_PROVIDERS_DIR);
  const report = checkProviders(providers);

  it('passes every rule (valid files, no domain or MX suffix claimed twice, no plaintext recommended, ports match security)', () => {
    assert.deepEqual(report.errors, []);
  });

  // The floor reached by the ISPDB coverage work (npm run providers:coverage): it only goes up.
  it('holds at least 195 providers, 1,331 domains and 79 MX suffixes', () => {
    assert.ok(report.providers >= 195, `${report.providers} providers`);
    assert.ok(report.domains >= 1331, `${report.domains} domains`);
    assert.ok(report.mxSuffixes >= 79, `${report.mxSuffixes} MX suffixes`);
  });

  it('publishes a current JSON Schema for editors (npm run providers:check -- --write-schema)', async () => {
    assert.equal(await readFile(new URL('provider.schema.json', `file://${BUILT_IN_PROVIDERS_DIR}`), 'utf8'), providerJsonSchema());
  });

  it('loads into an index where every listed domain finds its provider', async () => {
    const db = await loadProviderDb();
    for (const provider of providers) {
      for (const domain of provider.domains) assert.equal(db.byDomain(domain)?.id, provider.id, domain);
      for (const suffix of provider.mxSuffixes) assert.equal(db.byMxHost(`mx1.${suffix}`)?.id, provider.id, suffix);
    }
  });
});

describe('provider database rules', () => {
  it('matches MX hosts by suffix on label boundaries', async () => {
    const db = await loadProviderDb({ builtInDir: FIXTURE_PROVIDERS_DIR });
    assert.equal(db.byMxHost('mx.example-mail.test')?.id, 'example-mail');
    assert.equal(db.byMxHost('a.b.MX.example-mail.test.')?.id, 'example-mail');
    assert.equal(db.byMxHost('evilmx.example-mail.test'), undefined);
    assert.equal(db.byMxHost('mx.example-mail.test.evil.test'), undefined);
  });

  it('lets an operator directory override a provider by id', async () => {
    const db = await loadProviderDb({ builtInDir: FIXTURE_PROVIDERS_DIR, extraDir: fixtures('providers-override') });
    assert.equal(db.byDomain('example-mail.test')?.name, 'Example Mail (operator override)');
    // The override no longer lists the alias domain, so it is gone with the old entry.
    assert.equal(db.byDomain('example-alias.test'), undefined);
    assert.equal(db.byMxHost('mx.example-mail.test'), undefined);
    assert.equal(db.byDomain('pop-only.test')?.id, 'pop-only');
  });

  it('fails naming the file and the field of an invalid provider', async () => {
    await assert.rejects(readProviderDir(fixtures('providers-bad')), (error: unknown) => {
      assert.ok(error instanceof ProviderDbError);
      assert.match(error.message, /broken\.json/);
      assert.match(error.message, /incoming\.0\.port/);
      return true;
    });
  });

  it('refuses a domain claimed by two providers of one layer', async () => {
    const [first] = await readProviderDir(FIXTURE_PROVIDERS_DIR);
    assert.ok(first);
    assert.throws(() => new ProviderDb([[first, { ...first, id: 'copy' }]]), /claimed by both/);
    assert.ok(checkProviders([first, { ...first, id: 'copy' }]).errors.some((error) => /already claimed/.test(error)));
  });

  it('flags a recommended plaintext server and a port that contradicts its security', async () => {
    const providers = await readProviderDir(FIXTURE_PROVIDERS_DIR);
    const popOnly = providers.find((provider) => provider.id === 'pop-only');
    assert.ok(popOnly);
    const errors = checkProviders([popOnly]).errors;
    assert.ok(errors.some((error) => /outgoing offers only plaintext/.test(error)), errors.join('\n'));
    const wrongPort = { ...popOnly, id: 'wrong', domains: ['wrong.test'], incoming: [{ ...popOnly.incoming[1]!, port: 993, security: 'starttls' as const }] };
    assert.ok(checkProviders([wrongPort]).errors.some((error) => /port 993 is tls/.test(error)));
  });
});
