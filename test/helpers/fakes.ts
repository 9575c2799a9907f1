import type { Check } from '../../src/api/schemas.js';
import type { CheckTarget } from '../../src/probes/types.js';
import type { CandidateServer, Source } from '../../src/sources/types.js';

/** A passing check of `target` as a checker would report it, without sockets; `overrides` adjust it. */
export function passingCheck(target: CheckTarget, overrides: Partial<Check> = {}): Check {
  return {
    ok: true, host: target.host, port: target.port, protocol: target.protocol, security: target.security, address: '192.0.2.1',
    ms: { dns: 1, connect: 1, tls: 1, total: 3 }, greeting: '* OK', capabilities: [], authMechanisms: [],
    starttls: false, tls: null, warnings: [],
    ...overrides,
  };
}

/** An autoconfig source that always finds `servers` (a document written by whoever controls the domain). */
export function autoconfigFinding(servers: CandidateServer[]): Source {
  return {
    name: 'autoconfig',
    priority: 10,
    async lookup() {
      return { outcome: 'found', servers };
    },
  };
}
