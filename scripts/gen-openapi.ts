// npm run openapi — writes openapi/openapi.json from the routes' zod schemas (a test fails when it is stale).
import { mkdir, writeFile } from 'node:fs/promises';
import { generateOpenApi, OPENAPI_FILE } from './openapi-doc.js';

await mkdir(new URL('../openapi/', import.meta.url), { recursive: true });
await writeFile(OPENAPI_FILE, await generateOpenApi());
console.log(`wrote ${OPENAPI_FILE}`);
