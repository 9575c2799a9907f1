import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { ApiError, BusyError } from '../api/errors.js';
import { normaliseDomain, parseEmail } from '../api/input.js';
import { errorBodySchema } from '../api/schemas.js';
import { publishResultSchema } from '../api/serve-schemas.js';
import { AUTODISCOVER_RESPONSE_SCHEMA, parseAutodiscoverRequestXml } from '../formats/autodiscover-xml.js';
import { AUTODISCOVER_REQUEST_MAX_BYTES } from '../formats/document-limits.js';
import { renderAutodiscoverErrorXml, renderAutodiscoverXml, type AutodiscoverErrorCode } from '../serve/autodiscover-document.js';
import { MOBILECONFIG_CONTENT_TYPE, renderMobileconfig } from '../serve/mobileconfig.js';
import type { ProfileSigner } from '../serve/profile-signer.js';
import type { ServedDomain, ServedDomains, ServeLabel } from '../serve/served-domains.js';

/** Options of the serving routes. */
export interface ServeRoutesOptions {
  served: ServedDomains;
  /** The host name clients reach this service at (SERVE_HOSTNAME): the target of the published records. */
  serveHostname: string;
  /** Signs profiles when MOBILECONFIG_SIGN_CERT/KEY are set; unsigned otherwise. */
  signer?: ProfileSigner | undefined;
}

const XML = 'application/xml; charset=utf-8';
/** Autodiscover answers as Exchange does. */
const TEXT_XML = 'text/xml; charset=utf-8';
/** The same for every user of a domain; a provider file changes only with a restart. */
const SHARED_CACHE = 'public, max-age=3600';
/** Carries the caller's address: never stored by any cache. */
const PRIVATE_CACHE = 'no-store';

const xmlResponse = (description: string, type = XML) => ({ description, content: { [type]: { schema: z.string() } } });
const notServed = () => new ApiError('not_found', 'this service publishes no client autoconfiguration for this host name');

/** Reads the request's Host (untrusted) and finds the served domain it names, or 404. */
function servedFor(request: FastifyRequest, served: ServedDomains, label: ServeLabel, route: string): ServedDomain {
  const entry = served.forHost(request.host, label);
  if (!entry) throw notServed();
  request.logFields = { route, domain: entry.domain, outcome: 'found', cached: false };
  return entry;
}

/** The Autodiscover error answer (MS-OXDSCLI): what a client expects for a request it got wrong, with a 400. */
function autodiscoverError(reply: FastifyReply, code: AutodiscoverErrorCode, message: string): FastifyReply {
  return reply.code(400).type(TEXT_XML).header('cache-control', PRIVATE_CACHE).send(renderAutodiscoverErrorXml(code, message));
}

/** Autoconfig at autoconfig.<domain> and at the domain's well-known path: one document per domain, whatever the address. */
function autoconfigRoutes(app: Parameters<FastifyPluginAsync>[0], served: ServedDomains): void {
  const typed = app.withTypeProvider<ZodTypeProvider>();
  for (const [url, summary] of [
    ['/mail/config-v1.1.xml', 'Mozilla autoconfig document of a served domain (Host autoconfig.<domain>)'],
    ['/.well-known/autoconfig/mail/config-v1.1.xml', 'Mozilla autoconfig document of a served domain at its well-known path (Host <domain>)'],
  ] as const) {
    typed.get(
      url,
      {
        schema: {
          summary,
          description:
            'The same document for every address: `emailaddress` is accepted and ignored (never a 400), so the endpoint says nothing about which mailboxes exist. 404 for a host name outside SERVE_DOMAINS.',
          tags: ['serve'],
          querystring: z.object({ emailaddress: z.union([z.string(), z.array(z.string())]).optional().describe('Ignored') }),
          response: { 200: xmlResponse('clientConfig version 1.1'), 404: errorBodySchema },
        },
      },
      async (request, reply) => {
        const entry = servedFor(request, served, 'autoconfig', url);
        return reply.type(XML).header('cache-control', SHARED_CACHE).send(entry.autoconfigXml);
      },
    );
  }
}

/** Autodiscover POX at both spellings of its path; the domain is the one of the address in the request. */
function autodiscoverRoutes(app: Parameters<FastifyPluginAsync>[0], served: ServedDomains): void {
  // Security: the body is a stranger's upload: read as text up to a small cap (413 beyond), whatever
  // its content type, and parsed only by the hardened XML reader.
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', { parseAs: 'string', bodyLimit: AUTODISCOVER_REQUEST_MAX_BYTES }, (_request, body, done) => done(null, body));
  const typed = app.withTypeProvider<ZodTypeProvider>();
  for (const url of ['/autodiscover/autodiscover.xml', '/Autodiscover/Autodiscover.xml']) {
    typed.post(
      url,
      {
        schema: {
          summary: 'Microsoft Autodiscover (POX, Outlook response schema 2006a) for an address at a served domain',
          description: `The request names the address (MS-OXDSCLI). A request that cannot be read answers 400 with the Autodiscover error (600, or 601 for another response schema); the body is capped at ${AUTODISCOVER_REQUEST_MAX_BYTES} bytes (413).`,
          tags: ['serve'],
          consumes: ['text/xml', 'application/xml'],
          body: z.string().optional().describe('<Autodiscover><Request><EMailAddress>…</EMailAddress><AcceptableResponseSchema>…</AcceptableResponseSchema></Request></Autodiscover>'),
          response: {
            200: xmlResponse('Settings: IMAP, POP3 and SMTP Protocol sections', TEXT_XML),
            400: xmlResponse('The Autodiscover error', TEXT_XML),
            404: errorBodySchema,
            413: errorBodySchema,
          },
        },
      },
      async (request, reply) => {
        const parsed = parseAutodiscoverRequestXml(typeof request.body === 'string' ? request.body : '');
        if (!parsed.ok) return autodiscoverError(reply, 600, 'Invalid Request');
        if (parsed.responseSchema !== undefined && parsed.responseSchema !== AUTODISCOVER_RESPONSE_SCHEMA) {
          return autodiscoverError(reply, 601, 'Requested schema version not supported');
        }
        const address = parseEmail(parsed.address);
        if (!address.ok) return autodiscoverError(reply, 600, 'Invalid Request');
        const entry = served.get(address.subject.domain);
        if (!entry) throw notServed();
        request.logFields = { route: url, domain: entry.domain, outcome: 'found', cached: false };
        return reply.type(TEXT_XML).header('cache-control', PRIVATE_CACHE).send(renderAutodiscoverXml(entry.provider, address.subject));
      },
    );
  }
}

/** PACC at ua-auto-config.<domain>: the exact bytes the published TXT digest vouches for. */
function paccRoute(app: Parameters<FastifyPluginAsync>[0], served: ServedDomains): void {
  const url = '/.well-known/user-agent-configuration.json';
  app.withTypeProvider<ZodTypeProvider>().get(
    url,
    {
      schema: {
        summary: 'PACC configuration document of a served domain (Host ua-auto-config.<domain>; draft-ietf-mailmaint-pacc-02)',
        description: 'Its SHA-256 digest is the `_ua-auto-config.<domain>` TXT value of GET /v1/publish. 404 when the domain is not served or has no server PACC can describe (implicit TLS on 993, 995, 465).',
        tags: ['serve'],
        response: { 200: { description: 'The document', content: { 'application/json': { schema: z.string() } } }, 404: errorBodySchema },
      },
    },
    async (request, reply) => {
      const entry = servedFor(request, served, 'ua-auto-config', url);
      if (!entry.pacc) throw notServed();
      // The bytes as they are (the documented type is the JSON text they hold).
      return (reply as FastifyReply).type('application/json').header('cache-control', 'public, max-age=300').send(entry.pacc.bytes);
    },
  );
}

/** The served entry of a query's address, or the API error that says why not (400 bad address, 404 not served). */
function servedAddress(served: ServedDomains, email: string) {
  const input = parseEmail(email);
  if (!input.ok) throw new ApiError('invalid_input', input.message);
  const entry = served.get(input.subject.domain);
  if (!entry) throw new ApiError('not_found', `this service publishes no settings for ${input.subject.domain}`);
  return { entry, subject: { ...input.subject, email: input.subject.email ?? email, localPart: input.subject.localPart ?? '' } };
}

/** GET /v1/mobileconfig: the Apple profile for one address (signed when a signing pair is configured). */
function mobileconfigRoute(app: Parameters<FastifyPluginAsync>[0], served: ServedDomains, signer: ProfileSigner | undefined): void {
  const url = '/v1/mobileconfig';
  app.withTypeProvider<ZodTypeProvider>().get(
    url,
    {
      schema: {
        summary: 'Apple configuration profile (iPhone, iPad, Mac) for an address at a served domain',
        description:
          'One Mail account payload: the incoming server (IMAP, else POP3) and SMTP, no password. UUIDs are derived from the address, so a second download replaces the account. Signed (CMS) when MOBILECONFIG_SIGN_CERT and MOBILECONFIG_SIGN_KEY are set.',
        tags: ['serve'],
        querystring: z.object({ email: z.string().max(320).describe('The address the account is for') }),
        response: {
          200: { description: 'The profile', content: { [MOBILECONFIG_CONTENT_TYPE]: { schema: z.string() } } },
          400: errorBodySchema,
          404: errorBodySchema,
          503: errorBodySchema,
        },
      },
    },
    async (request, reply) => {
      const { entry, subject } = servedAddress(served, request.query.email);
      const profile = renderMobileconfig(entry.provider, subject);
      if (!profile) throw new ApiError('not_found', `the servers of ${entry.domain} cannot be described in an Apple profile`);
      let body: string | Buffer = profile;
      if (signer) {
        const signed = await signer.sign(Buffer.from(profile, 'utf8'));
        if (!signed.ok) {
          if (signed.code === 'sign_failed') request.log.error({ reason: signed.message }, 'profile signing failed');
          throw new BusyError('the profile cannot be signed right now; try again shortly', 5_000);
        }
        body = signed.der;
      }
      request.logFields = { route: url, domain: entry.domain, outcome: 'found', cached: false };
      return (reply as FastifyReply)
        .type(MOBILECONFIG_CONTENT_TYPE)
        .header('content-disposition', `attachment; filename="${entry.domain}.mobileconfig"`)
        .header('cache-control', PRIVATE_CACHE)
        .header('x-content-type-options', 'nosniff')
        .send(body);
    },
  );
}

/** GET /v1/publish: the DNS records that point clients at this service for a served domain. */
function publishRoute(app: Parameters<FastifyPluginAsync>[0], served: ServedDomains, serveHostname: string): void {
  app.withTypeProvider<ZodTypeProvider>().get(
    '/v1/publish',
    {
      schema: {
        summary: 'The DNS records an operator adds for a served domain (CNAMEs, SRV, the PACC TXT), as JSON and zone-file lines',
        tags: ['serve'],
        querystring: z.object({ domain: z.string().max(320).describe('A domain of SERVE_DOMAINS') }),
        response: { 200: publishResultSchema, 400: errorBodySchema, 404: errorBodySchema },
      },
    },
    async (request, reply) => {
      const domain = normaliseDomain(request.query.domain);
      if (!domain.ok) throw new ApiError('invalid_input', domain.message);
      const result = served.publish(domain.domain, serveHostname);
      if (!result) throw new ApiError('not_found', `${domain.domain} is not one of the domains this service serves (SERVE_DOMAINS)`);
      reply.header('cache-control', 'no-cache');
      return result;
    },
  );
}

/**
 * Client autoconfiguration for the domains of SERVE_DOMAINS: Mozilla autoconfig, Microsoft
 * Autodiscover, PACC, an Apple profile, and the DNS records to publish. Every document comes from
 * the provider database in memory: nothing here starts a discovery or any outbound traffic. Any
 * other domain or host name gets 404 (with SERVE_DOMAINS empty, every request does).
 */
export const serveRoutes: FastifyPluginAsync<ServeRoutesOptions> = async (app, options) => {
  autoconfigRoutes(app, options.served);
  paccRoute(app, options.served);
  mobileconfigRoute(app, options.served, options.signer);
  publishRoute(app, options.served, options.serveHostname);
  // Its own scope: the request-body parser it installs applies to these two routes only.
  await app.register(async (scope) => autodiscoverRoutes(scope, options.served));
};
