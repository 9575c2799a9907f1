import { z } from 'zod';
import {
  authenticationSchema,
  hintSchema,
  incomingProtocolSchema,
  securitySchema,
} from '../api/schemas.js';

const hostName = z
  .string()
  .regex(/^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z][a-z0-9-]{0,61}[a-z0-9]$/, 'lower-case host name');

/** Username templates may use %EMAILADDRESS%, %EMAILLOCALPART% and %EMAILDOMAIN%. */
const usernameTemplate = z
  .string()
  .min(1)
  .refine((value) => !/%(?!EMAILADDRESS%|EMAILLOCALPART%|EMAILDOMAIN%)[A-Z]+%/.test(value), {
    message: 'unknown placeholder (use %EMAILADDRESS%, %EMAILLOCALPART% or %EMAILDOMAIN%)',
  });

const serverFields = {
  host: hostName,
  port: z.number().int().min(1).max(65535),
  security: securitySchema,
  username: usernameTemplate,
  authentication: z.array(authenticationSchema).min(1),
};

/** An incoming server entry of a provider file. */
export const providerIncomingSchema = z.strictObject({ protocol: incomingProtocolSchema, ...serverFields });
/** An outgoing server entry of a provider file. */
export const providerOutgoingSchema = z.strictObject({ protocol: z.literal('smtp'), ...serverFields });

const httpsUrl = z.string().url().startsWith('https://', 'must be an https URL');

/** How the provider's servers that list oauth2 are signed in to (facts from the provider's documentation). */
export const providerOAuth2Schema = z.strictObject({
  issuer: hostName,
  authorizationEndpoint: httpsUrl,
  tokenEndpoint: httpsUrl,
  scopes: z.array(z.string().min(1).regex(/^\S+$/, 'one scope per entry')).min(1),
  /** The provider's own page these facts come from. */
  documentation: httpsUrl,
});

/** One provider file in providers/ (the published JSON Schema is generated from this). */
export const providerSchema = z
  .strictObject({
    $schema: z.string().optional(),
    id: z.string().regex(/^[a-z0-9]+(-[a-z0-9]+)*$/, 'kebab-case id'),
    name: z.string().min(1),
    domains: z.array(hostName),
    mxSuffixes: z.array(hostName),
    incoming: z.array(providerIncomingSchema).min(1),
    outgoing: z.array(providerOutgoingSchema),
    documentation: z.array(z.string().url().startsWith('https://', 'documentation URLs must be https')),
    hints: z.array(hintSchema),
    oauth2: providerOAuth2Schema.optional(),
    lastVerified: z.string().regex(/^\d{4}-\d{2}-\d{2}$/, 'YYYY-MM-DD'),
  })
  .refine((provider) => provider.domains.length > 0 || provider.mxSuffixes.length > 0, {
    message: 'a provider needs at least one domain or one mxSuffix',
    path: ['domains'],
  });
export type Provider = z.infer<typeof providerSchema>;
export type ProviderServer = Provider['incoming'][number] | Provider['outgoing'][number];
