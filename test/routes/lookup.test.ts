import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { FastifyInstance } from 'fastify';
import { lookupResultSchema, type LookupResult } from '../../src/api/schemas.js';
import { buildTestApp } from '../helpers/app.js';

describe('GET /v1/lookup', () => {
  let app: FastifyInstance;
  before(async () => {
    app = await buildTestApp();
  });
  after(() => app.close());

  const get = (url: string) => app.inject({ method: 'GET', url });

  it('answers for a Gmail address from the provider database', async () => {
    const response = await get('/v1/lookup?email=someone@gmail.com');
    assert.equal(response.statusCode, 200);
    const body = lookupResultSchema.parse(response.json());
    assert.equal(body.domain, 'gmail.com');
    assert.equal(body.email, 'someone@gmail.com');
    assert.equal(body.recommended, 'imap');
    assert.match(body.why, /IMAP/);
    assert.equal(body.provider?.id, 'gmail');
    const [first] = body.incoming;
    assert.deepEqual(
      { host: first?.host, port: first?.port, security: first?.security, recommended: first?.recommended, username: first?.username },
      { host: 'imap.gmail.com', port: 993, security: 'tls', recommended: true, username: 'someone@gmail.com' },
    );
    assert.ok(body.incoming.some((server) => server.host === 'pop.gmail.com' && server.port === 995 && server.security === 'tls'));
    assert.ok(body.outgoing.some((server) => server.host === 'smtp.gmail.com'));
    assert.equal(body.incoming.filter((server) => server.recommended).length, 1);
    assert.equal(body.sources[0]?.name, 'provider-db');
    assert.equal(body.sources[0]?.outcome, 'found');
  });

  it('carries the OAuth issuer, endpoints and scopes for Gmail and Outlook.com, never a client id', async () => {
    const gmail = lookupResultSchema.parse((await get('/v1/lookup?email=someone@gmail.com')).json());
    assert.deepEqual(gmail.incoming[0]?.oauth2, {
      issuer: 'accounts.google.com',
      authorizationEndpoint: 'https://accounts.google.com/o/oauth2/v2/auth',
      tokenEndpoint: 'https://oauth2.googleapis.com/token',
      scopes: ['https://mail.google.com/'],
      source: 'provider-db:gmail',
    });
    assert.ok([...gmail.incoming, ...gmail.outgoing].every((server) => server.oauth2?.issuer === 'accounts.google.com'));
    const outlook = lookupResultSchema.parse((await get('/v1/lookup?email=someone@outlook.com')).json());
    for (const server of [...outlook.incoming, ...outlook.outgoing]) {
      assert.equal(server.oauth2?.issuer, 'login.microsoftonline.com');
      assert.equal(server.oauth2?.authorizationEndpoint, 'https://login.microsoftonline.com/common/oauth2/v2.0/authorize');
      assert.ok(server.oauth2?.scopes.includes('https://outlook.office.com/IMAP.AccessAsUser.All'));
    }
    assert.doesNotMatch(JSON.stringify(outlook), /client_?id/i);
  });

  it('puts OAuth details only on servers whose authentication lists oauth2', async () => {
    const body = lookupResultSchema.parse((await get('/v1/lookup?domain=example-mail.test')).json());
    const servers = [...body.incoming, ...body.outgoing];
    assert.deepEqual(
      servers.filter((server) => server.oauth2).map((server) => `${server.protocol}:${server.port}:${server.oauth2?.issuer}`),
      ['imap:993:login.example-mail.test'],
    );
    assert.ok(servers.length > 1);
  });

  it('ranks IMAP before POP3 and implicit TLS before STARTTLS, and renders usernames', async () => {
    const body = (await get('/v1/lookup?email=Jane@Example-Mail.test')).json<LookupResult>();
    assert.deepEqual(
      body.incoming.map((server) => `${server.protocol}:${server.port}:${server.security}:${server.username}`),
      ['imap:993:tls:Jane@example-mail.test', 'imap:143:starttls:Jane@example-mail.test', 'pop3:995:tls:Jane'],
    );
    assert.deepEqual(body.outgoing.map((server) => server.port), [465, 587]);
    assert.equal(body.provider?.hints[0]?.kind, 'enable-imap');
  });

  it('keeps username templates when only a domain is given', async () => {
    const body = (await get('/v1/lookup?domain=example-mail.test')).json<LookupResult>();
    assert.equal(body.email, null);
    assert.equal(body.incoming[0]?.username, '%EMAILADDRESS%');
  });

  it('recommends POP3 only when no IMAP server exists, and never a plaintext server', async () => {
    const body = (await get('/v1/lookup?email=joe@pop-only.test')).json<LookupResult>();
    assert.equal(body.recommended, 'pop3');
    assert.match(body.why, /no IMAP/);
    assert.deepEqual(body.incoming.map((server) => [server.port, server.recommended]), [[995, true], [110, false]]);
    assert.deepEqual(body.outgoing.map((server) => [server.security, server.recommended]), [['none', false]]);
  });

  it('converts an internationalised domain to punycode', async () => {
    const response = await get(`/v1/lookup?email=${encodeURIComponent('jane@bücher.de')}`);
    assert.equal(response.statusCode, 404);
    assert.match(response.json().error.message, /xn--bcher-kva\.de/);
  });

  it('marks a repeated lookup as cached', async () => {
    const first = (await get('/v1/lookup?domain=example-alias.test')).json<LookupResult>();
    const second = (await get('/v1/lookup?email=x@example-alias.test')).json<LookupResult>();
    assert.equal(first.cached, false);
    assert.equal(second.cached, true);
    assert.equal(second.incoming[0]?.username, 'x@example-alias.test');
  });

  it('answers a cached domain from the fast path with the same body, CORS header and log fields', async () => {
    const first = await get('/v1/lookup?domain=example-mail.test&fresh=true');
    const second = await app.inject({ method: 'GET', url: '/v1/lookup?domain=example-mail.test', headers: { origin: 'https://isp.example' } });
    assert.equal(second.statusCode, 200);
    assert.equal(second.headers['content-type'], 'application/json; charset=utf-8');
    assert.equal(second.headers['access-control-allow-origin'], '*');
    const body = lookupResultSchema.parse(second.json());
    assert.equal(body.cached, true);
    assert.deepEqual({ ...body, cached: false, sources: [] }, { ...first.json<LookupResult>(), cached: false, sources: [] });
    // Repeated or extra parameters never take the fast path: they are validated as usual.
    assert.equal((await get('/v1/lookup?domain=example-mail.test&domain=gmail.com')).statusCode, 400);
    assert.equal((await get('/v1/lookup?domain=example-mail.test&check=maybe')).statusCode, 400);
  });

  it('answers 404 not_found for an unknown domain, with the trace of the sources consulted', async () => {
    const response = await get('/v1/lookup?domain=unknown-domain.test');
    assert.equal(response.statusCode, 404);
    const body = response.json();
    assert.equal(body.error.code, 'not_found');
    assert.deepEqual(body.sources[0], { name: 'provider-db', outcome: 'not-found', ms: body.sources[0].ms, detail: 'no provider lists unknown-domain.test' });
    // A repeated miss is served from the negative cache with the same trace.
    const again = await get('/v1/lookup?domain=unknown-domain.test');
    assert.equal(again.statusCode, 404);
    assert.deepEqual(again.json().sources.map((source: { name: string }) => source.name), body.sources.map((source: { name: string }) => source.name));
  });

  const invalid = [
    '/v1/lookup',
    '/v1/lookup?email=a@gmail.com&domain=gmail.com',
    '/v1/lookup?email=a@@gmail.com',
    '/v1/lookup?email=@gmail.com',
    '/v1/lookup?email=a@127.0.0.1',
    `/v1/lookup?email=${encodeURIComponent('a@[::1]')}`,
    '/v1/lookup?domain=127.0.0.1',
    '/v1/lookup?domain=localhost',
    '/v1/lookup?domain=intranet',
    `/v1/lookup?domain=${'a'.repeat(64)}.com`,
    `/v1/lookup?domain=${Array.from({ length: 5 }, () => 'a'.repeat(60)).join('.')}.com`,
    '/v1/lookup?domain=my%20domain.com',
    '/v1/lookup?domain=-bad.com',
    '/v1/lookup?domain=bad-.com',
    '/v1/lookup?email=x@gmail.com&check=maybe',
    `/v1/lookup?domain=${'a'.repeat(400)}`,
  ];
  for (const url of invalid) {
    it(`answers 400 invalid_input for ${url.slice(0, 80)}`, async () => {
      const response = await get(url);
      assert.equal(response.statusCode, 400);
      const body = response.json();
      assert.equal(body.error.code, 'invalid_input');
      assert.equal(typeof body.error.message, 'string');
    });
  }

  it('answers 404 not_found with the stable shape for an unknown route', async () => {
    const response = await get('/v2/nothing');
    assert.equal(response.statusCode, 404);
    assert.equal(response.json().error.code, 'not_found');
  });
});

describe('GET /v1/providers', () => {
  let app: FastifyInstance;
  before(async () => {
    app = await buildTestApp();
  });
  after(() => app.close());

  it('lists providers with domain counts', async () => {
    const response = await app.inject({ method: 'GET', url: '/v1/providers' });
    assert.equal(response.statusCode, 200);
    const body = response.json();
    assert.equal(body.count, body.providers.length);
    assert.deepEqual(body.providers.find((row: { id: string }) => row.id === 'example-mail'), {
      id: 'example-mail',
      name: 'Example Mail',
      domainCount: 2,
    });
  });

  it('shows one provider in full, and 404 for an unknown id', async () => {
    const response = await app.inject({ method: 'GET', url: '/v1/providers/example-mail' });
    assert.equal(response.statusCode, 200);
    assert.equal(response.json().incoming.length, 3);
    const missing = await app.inject({ method: 'GET', url: '/v1/providers/nope' });
    assert.equal(missing.statusCode, 404);
    assert.equal(missing.json().error.code, 'not_found');
  });
});

describe('health, readiness and docs', () => {
  let app: FastifyInstance;
  before(async () => {
    app = await buildTestApp();
  });
  after(() => app.close());

  it('reports liveness and readiness', async () => {
    assert.deepEqual((await app.inject('/health')).json(), { status: 'ok' });
    assert.deepEqual((await app.inject('/ready')).json(), { status: 'ok' });
  });

  it('serves the OpenAPI document and Swagger UI', async () => {
    const document = (await app.inject('/openapi.json')).json();
    assert.equal(document.openapi, '3.1.0');
    assert.ok(document.paths['/v1/lookup']);
    const docs = await app.inject('/docs/');
    assert.equal(docs.statusCode, 200);
    assert.match(docs.body, /swagger/i);
  });
});

describe('GET /v1/lookup: the per-client discovery limit', () => {
  let app: FastifyInstance;
  before(async () => {
    app = await buildTestApp({ RATE_LIMIT_MAX: '2' });
  });
  after(() => app.close());

  it('does not count lookups the provider database answers from memory (nothing goes out), only discoveries', async () => {
    // More distinct provider domains than the limit: none starts a discovery.
    for (const domain of ['gmail.com', 'googlemail.com', 'outlook.com', 'hotmail.com', 'yahoo.com', 'aol.com']) {
      const response = await app.inject(`/v1/lookup?domain=${domain}`);
      assert.equal(response.statusCode, 200, `${domain}: ${response.body}`);
    }
    // Unknown domains start discoveries (answered 404 here: DNS goes to a closed loopback port): the third is over the limit.
    const statuses = [];
    for (const domain of ['unknown-1.test', 'unknown-2.test', 'unknown-3.test']) statuses.push((await app.inject(`/v1/lookup?domain=${domain}`)).statusCode);
    assert.deepEqual(statuses, [404, 404, 429]);
  });
});
