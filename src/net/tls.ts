import type net from 'node:net';
import tls from 'node:tls';
import type { CheckErrorCode } from '../api/schemas.js';

/** A certificate as shown to support staff. */
export interface CertificateSummary {
  subject: string;
  issuer: string;
  validFrom: string;
  validTo: string;
  fingerprint256?: string;
}

/** The peer certificate of a TLS session with what was checked about it. */
export interface CertificateDetails extends CertificateSummary {
  subjectAltNames: string[];
  daysLeft: number;
  hostnameMatches: boolean;
  /** The issuers above the leaf, nearest first (the leaf itself is the object holding this list). */
  chain: CertificateSummary[];
}

/** What a TLS handshake established, whether or not the certificate is trusted. */
export interface TlsInfo {
  authorized: boolean;
  error?: string;
  protocol: string | null;
  cipher: string | null;
  certificate: CertificateDetails | null;
}

/** A finished TLS handshake (trusted or not: see `problem`), or why there is none. */
export type TlsResult =
  | {
      ok: true;
      socket: tls.TLSSocket;
      info: TlsInfo;
      /** Set when the session must not be trusted: the stable check code and a message. */
      problem: { code: Extract<CheckErrorCode, 'certificate_untrusted' | 'certificate_expired' | 'hostname_mismatch'>; message: string } | null;
      ms: number;
    }
  | { ok: false; code: 'tls_failed' | 'timeout'; message: string; ms: number };

/** Options of a TLS upgrade. */
export interface TlsOptions {
  /** The host name the user asked for: sent as SNI and matched against the certificate. */
  servername: string;
  timeoutMs: number;
  signal?: AbortSignal;
  /** Extra trusted CAs in PEM, on top of the system store (tests; production uses NODE_EXTRA_CA_CERTS). */
  extraCa?: readonly string[];
  /** Clock for daysLeft (tests). */
  now?: () => number;
}

const DAY_MS = 86_400_000;
const EXPIRED = new Set(['CERT_HAS_EXPIRED', 'CERT_NOT_YET_VALID', 'ERROR_IN_CERT_NOT_AFTER_FIELD', 'ERROR_IN_CERT_NOT_BEFORE_FIELD']);

const elapsed = (since: number) => Math.round((performance.now() - since) * 10) / 10;

/**
 * Runs a TLS client handshake over an already connected socket (from `Network.connect`, so the
 * address was resolved and cleared by the address policy; no second resolution happens here).
 * The handshake completes even for an untrusted certificate so its details can be shown: the
 * caller must treat `problem` as a failed check. Credentials are never sent by any caller.
 * Old protocol versions are allowed only so they can be reported (warning), not to be used.
 */
export function upgradeToTls(socket: net.Socket, options: TlsOptions): Promise<TlsResult> {
  const started = performance.now();
  return new Promise((resolve) => {
    if (options.signal?.aborted) {
      resolve({ ok: false, code: 'timeout', message: 'aborted before the TLS handshake', ms: 0 });
      return;
    }
    const secure = tls.connect({
      socket,
      servername: options.servername,
      // Verification is done below, after the handshake, so a bad certificate is described, not hidden.
      rejectUnauthorized: false,
      minVersion: 'TLSv1',
      // OpenSSL 3 refuses TLS 1.0/1.1 at its default security level; level 0 lets them be seen and warned about.
      ciphers: 'DEFAULT:@SECLEVEL=0',
      ...(options.extraCa ? { ca: [...tls.rootCertificates, ...options.extraCa] } : {}),
    });
    let settled = false;
    const finish = (result: TlsResult) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      options.signal?.removeEventListener('abort', onAbort);
      secure.removeListener('error', onError);
      if (!result.ok) secure.destroy();
      resolve(result);
    };
    const timer = setTimeout(
      () => finish({ ok: false, code: 'timeout', message: `no TLS handshake within ${options.timeoutMs} ms`, ms: elapsed(started) }),
      options.timeoutMs,
    );
    const onAbort = () => finish({ ok: false, code: 'timeout', message: 'the check ran out of time during the TLS handshake', ms: elapsed(started) });
    const onError = (error: NodeJS.ErrnoException) =>
      finish({ ok: false, code: 'tls_failed', message: `TLS handshake failed: ${error.code ?? error.message}`, ms: elapsed(started) });
    options.signal?.addEventListener('abort', onAbort, { once: true });
    secure.once('error', onError);
    secure.once('secureConnect', () => {
      const info = describeSession(secure, options.servername, options.now?.() ?? Date.now());
      finish({ ok: true, socket: secure, info, problem: judge(info, options.servername), ms: elapsed(started) });
    });
  });
}

/** Maps a verification outcome to the stable check code, or null when the session is trustworthy. */
function judge(info: TlsInfo, host: string): Extract<TlsResult, { ok: true }>['problem'] {
  const error = info.error;
  if (error && EXPIRED.has(error)) {
    return { code: 'certificate_expired', message: `the certificate of ${host} is expired or not yet valid (${error})` };
  }
  if (error && error !== 'ERR_TLS_CERT_ALTNAME_INVALID') {
    return { code: 'certificate_untrusted', message: `the certificate of ${host} is not trusted (${error})` };
  }
  if (!info.certificate || !info.certificate.hostnameMatches) {
    return { code: 'hostname_mismatch', message: `the certificate is not valid for ${host}` };
  }
  if (info.certificate.daysLeft < 0) {
    return { code: 'certificate_expired', message: `the certificate of ${host} expired ${-info.certificate.daysLeft} days ago` };
  }
  return null;
}

function describeSession(socket: tls.TLSSocket, host: string, now: number): TlsInfo {
  const peer = socket.getPeerCertificate(true);
  const hasCert = peer && Object.keys(peer).length > 0;
  const authorizationError = socket.authorizationError as unknown;
  const error = authorizationError instanceof Error ? ((authorizationError as NodeJS.ErrnoException).code ?? authorizationError.message) : authorizationError ? String(authorizationError) : undefined;
  const info: TlsInfo = {
    authorized: socket.authorized,
    protocol: socket.getProtocol() ?? null,
    cipher: socket.getCipher()?.standardName ?? socket.getCipher()?.name ?? null,
    certificate: hasCert ? certificateDetails(peer, host, now) : null,
  };
  if (error) info.error = error;
  if (info.certificate && !info.certificate.hostnameMatches) info.authorized = false;
  return info;
}

function certificateDetails(peer: tls.DetailedPeerCertificate, host: string, now: number): CertificateDetails {
  const validTo = Date.parse(peer.valid_to);
  const chain: CertificateSummary[] = [];
  const seen = new Set<string>([peer.fingerprint256]);
  let next = peer.issuerCertificate;
  // The chain ends at a self-issued certificate (which Node links to itself); bounded in any case.
  while (next && Object.keys(next).length > 0 && !seen.has(next.fingerprint256) && chain.length < 10) {
    seen.add(next.fingerprint256);
    chain.push(summary(next));
    next = next.issuerCertificate;
  }
  return {
    ...summary(peer),
    subjectAltNames: (peer.subjectaltname ?? '')
      .split(',')
      .map((entry) => entry.trim())
      .filter((entry) => entry.length > 0),
    daysLeft: Number.isFinite(validTo) ? Math.floor((validTo - now) / DAY_MS) : 0,
    hostnameMatches: tls.checkServerIdentity(host, peer) === undefined,
    chain,
  };
}

function summary(cert: tls.PeerCertificate): CertificateSummary {
  return {
    subject: distinguishedName(cert.subject),
    issuer: distinguishedName(cert.issuer),
    validFrom: isoDate(cert.valid_from),
    validTo: isoDate(cert.valid_to),
    fingerprint256: cert.fingerprint256,
  };
}

function distinguishedName(name: tls.Certificate | undefined): string {
  if (!name) return '';
  return Object.entries(name)
    .map(([key, value]) => `${key}=${Array.isArray(value) ? value.join('+') : String(value)}`)
    .join(', ');
}

function isoDate(text: string): string {
  const parsed = Date.parse(text);
  return Number.isFinite(parsed) ? new Date(parsed).toISOString() : text;
}
