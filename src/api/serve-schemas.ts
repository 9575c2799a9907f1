import { z } from 'zod';

/**
 * The hint on a lookup answer for a domain this service publishes client autoconfiguration for
 * (SERVE_DOMAINS): mail apps can then set the account up from the address alone.
 */
export const autoconfigureSchema = z.object({
  mobileconfigUrl: z
    .string()
    .nullable()
    .describe('https URL of the Apple configuration profile for the looked-up address (iPhone, iPad, Mac); null when only a domain was given'),
});
export type Autoconfigure = z.infer<typeof autoconfigureSchema>;

const recordBase = {
  name: z.string().describe('Owner name, fully qualified, without the trailing dot'),
  ttl: z.number().int().describe('Suggested TTL, seconds'),
  purpose: z.string().describe('What the record is for'),
};

/** One DNS record an operator adds so that mail clients find this service's documents. */
export const publishedRecordSchema = z.discriminatedUnion('type', [
  z.object({ type: z.literal('CNAME'), ...recordBase, target: z.string() }),
  z.object({
    type: z.literal('SRV'),
    ...recordBase,
    priority: z.number().int(),
    weight: z.number().int(),
    port: z.number().int(),
    target: z.string().describe('Host name, or "." for "this service is not offered" (RFC 2782)'),
  }),
  z.object({ type: z.literal('TXT'), ...recordBase, text: z.string().describe('The TXT value as one string (no quotes)') }),
]);
export type PublishedRecord = z.infer<typeof publishedRecordSchema>;

/** The 200 answer of GET /v1/publish: the records for one served domain, as JSON and as zone-file lines. */
export const publishResultSchema = z.object({
  domain: z.string(),
  target: z.string().describe('The host name clients reach this service at (SERVE_HOSTNAME)'),
  records: z.array(publishedRecordSchema),
  zone: z.string().describe('The same records as master-file lines (RFC 1035 §5), one per line'),
  notes: z.array(z.string()).describe('What records cannot do (e.g. route the apex well-known path); set up by hand'),
});
export type PublishResult = z.infer<typeof publishResultSchema>;
