import { z } from 'zod';
import { autoconfigureSchema } from './serve-schemas.js';

/** Query booleans: `true`/`1` and `false`/`0`, so `?check=true` reads as people write it. */
export const queryBoolean = z
  .enum(['true', 'false', '1', '0', ''])
  .optional()
  .transform((value) => value === 'true' || value === '1');

/** Mail protocols the service knows. */
export const protocolSchema = z.enum(['imap', 'pop3', 'smtp']);
export type Protocol = z.infer<typeof protocolSchema>;

/** Incoming protocols only. */
export const incomingProtocolSchema = z.enum(['imap', 'pop3']);

/** Transport security: implicit TLS, upgrade with STARTTLS, or none at all (RFC 8314 terms). */
export const securitySchema = z.enum(['tls', 'starttls', 'none']);
export type Security = z.infer<typeof securitySchema>;

/** Login methods, named as in Mozilla's autoconfig format. */
export const authenticationSchema = z.enum([
  'password-cleartext',
  'password-encrypted',
  'oauth2',
  'ntlm',
  'gssapi',
  'client-ip-address',
  'tls-client-cert',
  'none',
]);
export type Authentication = z.infer<typeof authenticationSchema>;

/** The ports live checks may connect to (the check endpoint must not become a port scanner). */
export const CHECK_PORTS = [25, 110, 143, 465, 587, 993, 995] as const;

/** Stable codes of a failed live check. */
export const checkErrorCodeSchema = z.enum([
  'dns_failed',
  'forbidden_target',
  'connect_refused',
  'connect_timeout',
  'tls_failed',
  'certificate_untrusted',
  'certificate_expired',
  'hostname_mismatch',
  'starttls_unavailable',
  'protocol_error',
  'timeout',
  'rate_limited',
  'busy',
]);
export type CheckErrorCode = z.infer<typeof checkErrorCodeSchema>;

/** One certificate of a chain, as shown to support staff. */
export const certificateSummarySchema = z.object({
  subject: z.string(),
  issuer: z.string(),
  validFrom: z.string(),
  validTo: z.string(),
  fingerprint256: z.string().optional(),
});

/** Peer certificate details of a TLS session. */
export const certificateSchema = certificateSummarySchema.extend({
  subjectAltNames: z.array(z.string()),
  daysLeft: z.number().int(),
  hostnameMatches: z.boolean(),
  chain: z.array(certificateSummarySchema),
});

/** The result of one credential-free live check of a mail server. */
export const checkSchema = z.object({
  ok: z.boolean(),
  host: z.string(),
  port: z.number().int(),
  protocol: protocolSchema,
  security: securitySchema,
  address: z.string().nullable().describe('The address connected to; null when none was, e.g. when the host resolves to an address the service refuses (which is never shown)'),
  ms: z.object({
    dns: z.number(),
    connect: z.number(),
    tls: z.number(),
    total: z.number(),
  }),
  greeting: z.string(),
  capabilities: z.array(z.string()),
  authMechanisms: z.array(z.string()),
  starttls: z.boolean(),
  tls: z
    .object({
      authorized: z.boolean(),
      error: z.string().optional(),
      protocol: z.string().nullable(),
      cipher: z.string().nullable(),
      certificate: certificateSchema.nullable(),
    })
    .nullable(),
  warnings: z.array(z.string()),
  cached: z.boolean().optional(),
  error: z.object({ code: checkErrorCodeSchema, message: z.string() }).optional(),
});
export type Check = z.infer<typeof checkSchema>;

/**
 * How to sign in with OAuth 2.0 on a server that offers it: the issuer and what to ask it for. The
 * app brings its own client id (never invented here); when only the issuer is known the endpoints
 * are null and the app reads the issuer's metadata (RFC 8414).
 */
export const oauth2Schema = z.object({
  issuer: z.string().describe('The authorization server, e.g. accounts.google.com'),
  authorizationEndpoint: z.string().nullable(),
  tokenEndpoint: z.string().nullable(),
  scopes: z.array(z.string()).describe('Every scope to request, space-joined in the authorization request'),
  source: z.string().describe('Where these details came from, e.g. provider-db:gmail'),
});
export type OAuth2Details = z.infer<typeof oauth2Schema>;

/** A mail server as returned by the API, with its provenance. */
export const serverSchema = z.object({
  protocol: protocolSchema,
  host: z.string(),
  port: z.number().int().min(1).max(65535),
  security: securitySchema,
  username: z.string().describe('Rendered for the given address; the template when only a domain was given'),
  authentication: z.array(z.string()),
  recommended: z.boolean(),
  source: z.string().describe('Where this server came from, e.g. provider-db:gmail or srv:_imaps._tcp.example.com'),
  trusted: z.boolean().describe('False when the answer came over an unauthenticated channel (plain HTTP)'),
  oauth2: oauth2Schema.optional().describe('Present when `authentication` contains oauth2 and the issuer is known'),
  check: checkSchema.optional(),
});
export type Server = z.infer<typeof serverSchema>;

/**
 * How a source ended. `found` always includes an incoming server; `partial` answered with outgoing
 * servers only (they are used, ranked below every found source's, and the search went on).
 */
export const sourceOutcomeSchema = z.enum(['found', 'partial', 'not-found', 'error', 'timeout', 'skipped', 'blocked']);
export type SourceOutcome = z.infer<typeof sourceOutcomeSchema>;

/**
 * Stable codes of a source that failed (`error`) or was refused by a safety rule other than the
 * address policy (`blocked`): the one closed list, published in OpenAPI.
 */
export const sourceErrorCodeSchema = z.enum([
  // Fetching (net/http.ts) and DNS
  'invalid_url', 'blocked', 'no_such_host', 'dns_failed', 'connect_failed', 'tls_error', 'timeout', 'aborted',
  'too_large', 'encoding_refused', 'redirect_refused', 'too_many_redirects', 'http_error',
  // Reading documents (formats/)
  'doctype_refused', 'malformed_xml', 'too_complex', 'not_autoconfig', 'not_autodiscover', 'autodiscover_error',
  'unsupported_account', 'invalid_redirect', 'redirect_loop',
  'pacc_too_large', 'pacc_bad_encoding', 'pacc_bad_json', 'pacc_invalid', 'pacc_no_raw_body',
  // Safety rules (`blocked`)
  'pacc_digest_missing', 'pacc_digest_mismatch', 'pacc_bad_txt', 'tls_downgrade_refused',
  // Guessing: probes refused by the outbound connection budgets (so the "nothing" is uncertain)
  'outbound_budget',
  // A source that threw (a bug): reported, never fatal to the lookup
  'internal_error',
]);
export type SourceErrorCode = z.infer<typeof sourceErrorCodeSchema>;

/** One consulted source in a lookup's trace. */
export const sourceReportSchema = z.object({
  name: z.string(),
  outcome: sourceOutcomeSchema,
  ms: z.number(),
  detail: z.string().optional(),
  url: z.string().optional().describe('The URL fetched or DNS name queried'),
  error: sourceErrorCodeSchema.optional().describe('Stable error code of a failed or refused source'),
});
export type SourceReport = z.infer<typeof sourceReportSchema>;

/** Kinds of non-IMAP/POP3/SMTP access method. */
export const alternativeKindSchema = z.enum(['jmap', 'ews', 'activesync', 'graph']);
export type AlternativeKind = z.infer<typeof alternativeKindSchema>;

/** A way to reach the mailbox other than IMAP, POP3 and SMTP; shown for information, never recommended. */
export const alternativeSchema = z.object({
  kind: alternativeKindSchema,
  url: z.string().describe('https URL: the JMAP session resource, or the EWS / ActiveSync / Graph endpoint'),
  source: z.string().describe('Where it came from, e.g. jmap:https://example.com/.well-known/jmap'),
  trusted: z.boolean(),
});
export type Alternative = z.infer<typeof alternativeSchema>;

/** Kinds of provider hint. */
export const hintKindSchema = z.enum([
  'app-password',
  'enable-imap',
  'enable-pop3',
  'oauth2-only',
  'no-pop3',
  'no-imap',
  'discontinued',
  'migrated',
  'other',
]);

/** A provider-specific hint a user needs to know before setting up the account. */
export const hintSchema = z.object({
  kind: hintKindSchema,
  text: z.string().min(1),
  url: z.string().url().startsWith('https://').optional(),
});
export type Hint = z.infer<typeof hintSchema>;

/** One language's version of a text from a document: a lower-case BCP 47-style tag (`und` when the document named none). */
export const localizedTextSchema = z.object({
  lang: z.string().describe('Lower-case language tag such as en, de or pt-br; und when the document named none'),
  text: z.string().describe('Plain text (never markup), at most 500 characters'),
});
export type LocalizedText = z.infer<typeof localizedTextSchema>;

/** Kinds of document instruction: autoconfig `<enable>` (turn something on first) and `<documentation>` (a help page). */
export const instructionKindSchema = z.enum(['enable', 'documentation']);

/**
 * What the settings document itself tells users (autoconfig/ISPDB `<enable>` and `<documentation>`),
 * each text in the languages the document gave. Only from documents fetched over HTTPS.
 */
export const instructionSchema = z.object({
  kind: instructionKindSchema.describe('enable: something must be turned on first (the texts say what), at `url` if given; documentation: a help page'),
  url: z.string().optional().describe('https only; always present for documentation'),
  texts: z.array(localizedTextSchema).describe('One per language, in document order; may be empty for documentation'),
  source: z.string().describe('The document they came from, as in servers[].source'),
});
export type Instruction = z.infer<typeof instructionSchema>;

/** The provider summary in a lookup answer. */
export const lookupProviderSchema = z.object({
  id: z.string(),
  name: z.string(),
  documentation: z.array(z.string()),
  hints: z.array(hintSchema),
});

/** Stable codes of the warnings an answer may carry. */
export const warningCodeSchema = z.enum(['sources_disagree', 'untrusted_only', 'plaintext_only_protocol', 'guessed']);
export type WarningCode = z.infer<typeof warningCodeSchema>;

/** Something about an answer a person should know before using it (the answer itself is unchanged). */
export const warningSchema = z.object({
  code: warningCodeSchema,
  message: z.string(),
  sources: z.array(z.string()).describe('Names of the sources concerned, as in sources[].name'),
});
export type Warning = z.infer<typeof warningSchema>;

/** The 200 answer of GET /v1/lookup. */
export const lookupResultSchema = z.object({
  domain: z.string().describe('Lower-case ASCII; IDNs converted to punycode'),
  email: z.string().nullable(),
  recommended: incomingProtocolSchema,
  why: z.string(),
  provider: lookupProviderSchema.nullable(),
  incoming: z.array(serverSchema).describe('Best first: incoming[0] is the recommended choice'),
  outgoing: z.array(serverSchema).describe('Best first'),
  alternatives: z
    .array(alternativeSchema)
    .describe('Access methods other than IMAP/POP3/SMTP (JMAP, Exchange) the domain publishes; never recommended'),
  instructions: z
    .array(instructionSchema)
    .describe("The <enable> and <documentation> entries of the best-ranked settings document that has any (autoconfig, ISPDB); empty otherwise. provider.hints stays the provider database's own"),
  warnings: z.array(warningSchema).describe('Conflicts between sources and weak answers; empty when there is nothing to say'),
  sources: z.array(sourceReportSchema),
  cached: z.boolean(),
  autoconfigure: autoconfigureSchema
    .optional()
    .describe(
      'Present when this service publishes client autoconfiguration for the domain itself (SERVE_DOMAINS): Thunderbird and Outlook set the account up from the address, and Apple devices can install the profile',
    ),
});
export type LookupResult = z.infer<typeof lookupResultSchema>;

/** Stable error codes of the API. */
export const errorCodeSchema = z.enum([
  'invalid_input',
  'not_found',
  'rate_limited',
  'busy',
  'timeout',
  'payload_too_large',
  'unsupported_media_type',
  'method_not_allowed',
  'internal_error',
]);
export type ErrorCode = z.infer<typeof errorCodeSchema>;

/** Every API error body. */
export const errorBodySchema = z.object({
  error: z.object({
    code: errorCodeSchema,
    message: z.string(),
  }),
});
export type ErrorBody = z.infer<typeof errorBodySchema>;

/** The 404 of a lookup: the error plus the trace of every source consulted, for support staff. */
export const lookupNotFoundBodySchema = errorBodySchema.extend({
  sources: z.array(sourceReportSchema).optional(),
  alternatives: z
    .array(alternativeSchema)
    .optional()
    .describe('Present when the domain publishes no IMAP/POP3 server but another access method (e.g. JMAP only)'),
});
