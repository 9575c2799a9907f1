import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { describe, it } from 'node:test';
import { generateOpenApi, OPENAPI_FILE } from '../../scripts/openapi-doc.js';

describe('openapi/openapi.json', () => {
  it('is what the code generates (run `npm run openapi` after changing a route or schema)', async () => {
    const checkedIn = await readFile(OPENAPI_FILE, 'utf8');
    assert.equal(checkedIn, await generateOpenApi(), 'openapi/openapi.json is stale: run npm run openapi');
  });
});
