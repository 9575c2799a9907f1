import { z } from 'zod';
import { providerSchema } from './schema.js';

/** The JSON Schema of a provider file, for editors (published as providers/provider.schema.json). */
export function providerJsonSchema(): string {
  const schema = z.toJSONSchema(providerSchema, { io: 'input', target: 'draft-2020-12' });
  return `${JSON.stringify({ ...schema, title: 'Mail Settings Lookup provider file' }, null, 2)}\n`;
}
