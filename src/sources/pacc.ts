import { PACC_MAX_BYTES, parsePaccJson, verifyPaccDigest } from '../formats/pacc-json.js';
import type { DnsResolver } from '../net/dns.js';
import type { HttpClient } from '../net/http.js';
import { abortedBeforeParse, fetchFailure, MIN_TTL_S } from './autoconfig-fetch.js';
import { documentResult, toCandidates, type CandidateAlternative, type Source, type SourceResult } from './types.js';
import { SOURCE_TABLE } from './source-table.js';

/** Where a domain publishes its PACC document (draft-ietf-mailmaint-pacc-02). */
export function paccUrl(domain: string): string {
  return `https://ua-auto-config.${domain}/.well-known/user-agent-configuration.json`;
}

/** The TXT name that carries the document's digest. */
export function paccTxtName(domain: string): string {
  return `_ua-auto-config.${domain}`;
}

/** What the PACC source needs. */
export interface PaccSourceDeps {
  http: HttpClient;
  dns: DnsResolver;
}

/**
 * PACC (draft-ietf-mailmaint-pacc-02): the JSON document at ua-auto-config.<domain>, vouched for by
 * the SHA-256 digest in the `_ua-auto-config.<domain>` TXT record. Both are asked at once; no email
 * address is ever sent (the URL is fixed per domain).
 *
 * A document is used only once its digest matched. The draft makes the digest the client's proof
 * that whoever controls the domain's DNS stands behind the document: a client has to find a TXT
 * record carrying the document's digest and must not use a document without one, so a missing
 * record is treated like a wrong one. Both are `blocked` (an integrity check failed) with a stable
 * code: `pacc_digest_missing`, `pacc_bad_txt` or `pacc_digest_mismatch`. Hence every server this
 * source returns is `trusted: true`. (The draft's own text could not be read in full when this was
 * written; the rule follows the -02 implementations that cite it, and errs on the safe side.)
 *
 * Security: the document comes from a host the looked-up domain names and is read only after the
 * digest check; the HTTP client applies the address policy, certificate checks and size cap.
 */
export function createPaccSource({ http, dns }: PaccSourceDeps): Source {
  return {
    ...SOURCE_TABLE.pacc,
    async lookup({ subject, signal }): Promise<SourceResult> {
      const url = paccUrl(subject.domain);
      const txtName = paccTxtName(subject.domain);
      const [response, txt] = await Promise.all([
        http.get(url, { signal, accept: 'application/json', raw: true, maxBytes: PACC_MAX_BYTES }),
        dns.txt(txtName, signal),
      ]);
      if (!response.ok) return fetchFailure(response, url);
      // A better-ranked source answered (or the deadline passed) while the body arrived: not read.
      if (signal.aborted) return abortedBeforeParse(url);
      const bytes = response.bytes;
      // Only a client that ignored `raw` lands here: hashing a re-encoded string could vouch for bytes nobody sent.
      if (!bytes) return { outcome: 'error', error: 'pacc_no_raw_body', detail: 'the HTTP client returned no raw body', url };

      if (!txt.ok && txt.kind === 'timeout') return { outcome: 'timeout', detail: `${txtName}: ${txt.code}`, url };
      if (!txt.ok && txt.kind === 'error') return { outcome: 'error', error: 'dns_failed', detail: `${txtName}: ${txt.code}`, url };
      const verification = verifyPaccDigest(bytes, txt.ok ? txt.records : []);
      if (!verification.ok) {
        const why = txt.ok ? verification.message : `${txtName} has no TXT record`;
        return { outcome: 'blocked', error: verification.error, detail: `document not used: ${why}`, url };
      }

      const parsed = parsePaccJson(bytes);
      if (!parsed.ok) return { outcome: 'error', error: parsed.error, detail: parsed.message, url };
      const { data, dropped, ignored } = parsed;
      const provenance = `pacc:${url}`;
      // oauth-public names the issuer only: the app reads its endpoints from the issuer's metadata (RFC 8414).
      const oauth2 = data.oauthIssuer
        ? { issuer: data.oauthIssuer, authorizationEndpoint: null, tokenEndpoint: null, scopes: [], source: provenance }
        : undefined;
      const servers = toCandidates(data.servers, provenance, true, oauth2);
      const alternatives: CandidateAlternative[] = data.jmap.map((jmapUrl) => ({ kind: 'jmap', url: jmapUrl, source: provenance, trusted: true }));

      const notes = [`digest verified; ${servers.length} server(s)${data.providerName ? ` (${data.providerName})` : ''}`];
      if (data.oauthIssuer) notes.push(`OAuth issuer ${data.oauthIssuer}`);
      else if (data.oauth) notes.push('OAuth without a usable issuer');
      if (data.jmap.length > 0) notes.push(`JMAP ${data.jmap.join(', ')}`);
      if (ignored.length > 0) notes.push(`ignored: ${ignored.join(', ')}`);
      if (dropped.length > 0) notes.push(`dropped: ${dropped.join('; ')}`);
      return documentResult(servers, {
        detail: notes.join('; '),
        url,
        ...(alternatives.length > 0 ? { alternatives } : {}),
        // As for autoconfig: the answer lasts as long as the addresses it came from (with a floor).
        ...(response.dnsTtlS !== undefined ? { ttlS: Math.max(MIN_TTL_S, response.dnsTtlS) } : {}),
      });
    },
  };
}
