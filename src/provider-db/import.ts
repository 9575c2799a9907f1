// Turns a Mozilla autoconfig file (config-v1.1.xml) into a provider file. Pure: no I/O, no Fastify;
// scripts/providers-import.ts does the reading and writing.
import { parseAutoconfigXml, type AutoconfigServer } from '../formats/autoconfig-xml.js';
import { byProtocolAndSecurity } from '../formats/rank.js';
import { checkProviders } from './check.js';
import { providerSchema, type Provider } from './schema.js';

/** Options of the conversion. */
export interface ImportOptions {
  /** Provider id to use instead of emailProvider@id (normalised to kebab-case as well). */
  id?: string;
  /** The lastVerified date, YYYY-MM-DD; defaults to today (UTC). */
  today?: string;
}

/** The provider, or every reason it could not be built; warnings name what was left out. */
export type ImportResult =
  | { ok: true; provider: Provider; warnings: string[] }
  | { ok: false; errors: string[]; warnings: string[] };


/** Lower-case kebab-case, as provider ids and file names require ("Example.COM" → "example-com"). */
export function normaliseProviderId(value: string): string {
  return value
    .normalize('NFKD')
    .replace(/[\u0300-\u036f]/g, '')
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-+|-+$/g, '')
    .slice(0, 64)
    .replace(/-+$/, '');
}

/** IMAP before POP3, then implicit TLS before STARTTLS before plaintext; otherwise the file's order. */
function ordered(servers: AutoconfigServer[]): AutoconfigServer[] {
  return byProtocolAndSecurity(servers).map((server) => ({ ...server, authentication: [...server.authentication] }));
}

/**
 * Converts the text of a config-v1.1.xml file into a provider object, reusing the discovery XML
 * reader (which refuses DOCTYPEs and entities and validates every value). The result is validated
 * with `providerSchema` and the cross-file rules of `checkProviders` for a single provider; errors
 * name the field (`incoming.0.username: …`).
 */
export function importAutoconfigXml(xml: string, options: ImportOptions = {}): ImportResult {
  const parsed = parseAutoconfigXml(xml);
  if (!parsed.ok) return { ok: false, errors: [`${parsed.error}: ${parsed.message}`], warnings: [] };
  const { data } = parsed;
  const warnings = parsed.dropped.map((reason) => `dropped: ${reason}`);

  const rawId = options.id ?? data.id ?? data.domains[0] ?? '';
  const id = normaliseProviderId(rawId);
  if (!id) {
    const errors = [options.id !== undefined ? `id: "${options.id}" has no letters or digits` : 'id: emailProvider has no id attribute and no domain; pass --id'];
    return { ok: false, errors, warnings };
  }
  const domains = [...new Set(data.domains)];
  if (domains.length === 0) warnings.push('domains: the file lists no domain; add domains or mxSuffixes by hand');
  const incoming = ordered(data.incoming);
  const outgoing = ordered(data.outgoing);
  for (const server of [...incoming, ...outgoing]) {
    if (server.security === 'none') warnings.push(`${server.protocol} server ${server.host}:${server.port} is plaintext (kept, never recommended)`);
  }
  const candidate = {
    id,
    name: data.displayName || data.id || id,
    domains,
    // draft-ietf-mailmaint-autoconfig: <domain purpose="mx"> names where the provider's MX hosts live.
    mxSuffixes: [...new Set(data.mxDomains)],
    incoming,
    outgoing,
    documentation: [...new Set(data.documentation)],
    hints: [],
    lastVerified: options.today ?? new Date().toISOString().slice(0, 10),
  };
  const valid = providerSchema.safeParse(candidate);
  if (!valid.success) {
    const errors = valid.error.issues.map((issue) => `${issue.path.join('.') || '(root)'}: ${issue.message}`);
    return { ok: false, errors, warnings };
  }
  const report = checkProviders([valid.data]);
  warnings.push(...report.warnings.filter((warning) => !/plaintext server|no outgoing server/.test(warning)).map(stripWhere));
  if (outgoing.length === 0) warnings.push('outgoing: no usable SMTP server in the file');
  if (report.errors.length > 0) return { ok: false, errors: report.errors.map(stripWhere), warnings };
  return { ok: true, provider: valid.data, warnings };
}

/** checkProviders prefixes "providers/<id>.json: "; the importer names the source file itself. */
function stripWhere(message: string): string {
  return message.replace(/^providers\/[^:]+\.json: /, '');
}
