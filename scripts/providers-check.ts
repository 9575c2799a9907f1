// npm run providers:check — validates every provider file and the cross-file rules; exits 1 on errors.
// --write-schema also regenerates providers/provider.schema.json; --verbose lists warnings.
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { checkProviders } from '../src/provider-db/check.js';
import { BUILT_IN_PROVIDERS_DIR, ProviderDbError, readProviderDir } from '../src/provider-db/provider-db.js';
import { providerJsonSchema } from '../src/provider-db/json-schema.js';

const dir = process.argv.slice(2).find((arg) => !arg.startsWith('--')) ?? BUILT_IN_PROVIDERS_DIR;
const verbose = process.argv.includes('--verbose');
try {
  const providers = await readProviderDir(dir);
  const report = checkProviders(providers);
  if (verbose) for (const warning of report.warnings) console.log(`warning: ${warning}`);
  for (const error of report.errors) console.error(`error: ${error}`);
  console.log(
    `${report.providers} providers, ${report.domains} domains, ${report.mxSuffixes} MX suffixes; ` +
      `${report.errors.length} errors, ${report.warnings.length} warnings${verbose ? '' : ' (--verbose lists them)'}`,
  );
  if (process.argv.includes('--write-schema')) {
    await writeFile(path.join(BUILT_IN_PROVIDERS_DIR, 'provider.schema.json'), providerJsonSchema());
  }
  process.exit(report.errors.length > 0 ? 1 : 0);
} catch (error) {
  if (error instanceof ProviderDbError) {
    console.error(`error: ${error.message}`);
    process.exit(1);
  }
  throw error;
}
