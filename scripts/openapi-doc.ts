import { fileURLToPath } from 'node:url';
import { buildApp } from '../src/app.js';
import { testConfig } from '../test/helpers/config.js';
import { ProviderDb } from '../src/provider-db/provider-db.js';

/** Where the checked-in OpenAPI document lives. */
export const OPENAPI_FILE = fileURLToPath(new URL('../openapi/openapi.json', import.meta.url));

/** Builds the app (no network, empty provider database) and renders its OpenAPI document. */
export async function generateOpenApi(): Promise<string> {
  const app = await buildApp(testConfig(), { providerDb: new ProviderDb([]) });
  await app.ready();
  const document = app.swagger();
  await app.close();
  return `${JSON.stringify(document, null, 2)}\n`;
}
