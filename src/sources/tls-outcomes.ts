/** Why an HTTPS fetch to a host failed at the TLS level (the HttpClient's `tls_error` message, e.g. CERT_HAS_EXPIRED). */
export interface TlsFailure {
  host: string;
  reason: string;
}

/**
 * What the HTTPS fetches of one discovery learnt about hosts' TLS, shared by its sources through
 * the SourceContext. Security: a plain-HTTP fallback must not be used for a host whose HTTPS
 * failed its certificate check in the same discovery, because that failure is what an attacker on
 * the path who also serves the plain-HTTP answer would cause (a downgrade).
 */
export class TlsOutcomes {
  readonly #pending = new Map<string, Promise<TlsFailure | null>>();

  /**
   * Announces an HTTPS fetch to `host`; the returned function settles it (null: no TLS failure).
   * Must be called before the announcing source's first `await`, so that a source started in the
   * same turn finds the entry (the resolver starts its sources synchronously, one after another).
   */
  expect(host: string): (failure: TlsFailure | null) => void {
    let settle: (failure: TlsFailure | null) => void = () => {};
    const outcome = new Promise<TlsFailure | null>((resolve) => {
      settle = resolve;
    });
    // Several fetches to one host: any of them failing TLS counts.
    const previous = this.#pending.get(host.toLowerCase());
    this.#pending.set(host.toLowerCase(), previous ? Promise.all([previous, outcome]).then(([a, b]) => a ?? b) : outcome);
    return settle;
  }

  /**
   * The TLS failure of `host` in this discovery, waiting for announced fetches to end; null when
   * none failed or none was announced, or when `signal` ends the wait first.
   */
  async failure(host: string, signal: AbortSignal): Promise<TlsFailure | null> {
    const outcome = this.#pending.get(host.toLowerCase());
    if (!outcome || signal.aborted) return null;
    return new Promise((resolve) => {
      const onAbort = () => resolve(null);
      signal.addEventListener('abort', onAbort, { once: true });
      void outcome.then((failure) => {
        signal.removeEventListener('abort', onAbort);
        resolve(failure);
      });
    });
  }
}
