import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { FastifyInstance } from 'fastify';
import { errorBodySchema } from '../../src/api/schemas.js';
import { buildTestApp } from '../helpers/app.js';

// Counterexamples found by the route fuzz suite (test/fuzz/routes.test.ts): Fastify answered these
// before routing, with its own body shape instead of the API's `{error: {code, message}}`.
describe('errors raised while routing', () => {
  let app: FastifyInstance;
  before(async () => {
    app = await buildTestApp({ DNS_SERVERS: '127.0.10.2:9' });
  });
  after(() => app.close());

  for (const url of ['/v1/providers/%E0%A4%A', '/%', `/v1/providers/${'a'.repeat(101)}`]) {
    it(`answers 400 invalid_input with the stable shape for ${url.slice(0, 40)}`, async () => {
      const response = await app.inject({ method: 'GET', url });
      assert.equal(response.statusCode, 400);
      const body = errorBodySchema.strict().parse(response.json());
      assert.equal(body.error.code, 'invalid_input');
      // The malformed path is not echoed back.
      assert.doesNotMatch(body.error.message, /%E0|aaaa/);
    });
  }
});
