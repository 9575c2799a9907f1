import dns2 from 'dns2';

const { Packet } = dns2;
const RCODE = { NXDOMAIN: 3, SERVFAIL: 2 };

/** One record of the test zone. */
export type ZoneRecord =
  | { type: 'A'; address: string; ttl?: number }
  | { type: 'AAAA'; address: string; ttl?: number }
  | { type: 'MX'; exchange: string; priority: number; ttl?: number }
  | { type: 'SRV'; target: string; port: number; priority: number; weight: number; ttl?: number }
  | { type: 'TXT'; data: string | string[]; ttl?: number };

/** How the server treats a name: records, or a failure mode. */
export type ZoneEntry = ZoneRecord[] | 'servfail' | 'timeout' | ((type: string, count: number) => ZoneRecord[] | 'servfail' | 'timeout');

const TYPE_NAMES: Record<number, string> = { 1: 'A', 28: 'AAAA', 15: 'MX', 33: 'SRV', 16: 'TXT' };

/**
 * An in-process authoritative DNS server (dns2, UDP) on a loopback address, serving a mutable zone.
 * Names missing from the zone (exact or `*.parent` wildcard) answer NXDOMAIN; 'servfail' answers SERVFAIL; 'timeout' never answers;
 * a function gets the query type and how many times the name was asked (for rebinding tests).
 */
export class TestDnsServer {
  readonly zone = new Map<string, ZoneEntry>();
  readonly queries: { name: string; type: string }[] = [];
  readonly #counts = new Map<string, number>();
  #server: InstanceType<typeof dns2.UDPServer> | null = null;

  constructor(readonly address: string, readonly port = 53) {}

  /** "address:port" for DNS_SERVERS. */
  get server(): string {
    return `${this.address}:${this.port}`;
  }

  set(name: string, entry: ZoneEntry): this {
    this.zone.set(name.toLowerCase(), entry);
    return this;
  }

  async start(): Promise<void> {
    const server = dns2.createUDPServer((request, send) => {
      const [question] = request.questions;
      if (!question) return;
      const name = question.name.toLowerCase();
      const type = TYPE_NAMES[question.type] ?? String(question.type);
      this.queries.push({ name, type });
      const count = (this.#counts.get(name) ?? 0) + 1;
      this.#counts.set(name, count);
      const response = Packet.createResponseFromRequest(request);
      response.header.aa = 1;
      let entry = this.#find(name);
      if (typeof entry === 'function') entry = entry(type, count);
      if (entry === 'timeout') return;
      if (entry === 'servfail') {
        response.header.rcode = RCODE.SERVFAIL;
        void send(response);
        return;
      }
      if (entry === undefined) {
        response.header.rcode = RCODE.NXDOMAIN;
        void send(response);
        return;
      }
      for (const record of entry) {
        if (record.type !== type) continue;
        const base = { name: question.name, type: question.type, class: Packet.CLASS.IN, ttl: record.ttl ?? 300 };
        const data =
          record.type === 'A' || record.type === 'AAAA' ? { address: record.address }
          : record.type === 'MX' ? { exchange: record.exchange, priority: record.priority }
          : record.type === 'TXT' ? { data: record.data }
          : { target: record.target, port: record.port, priority: record.priority, weight: record.weight };
        // A real dns2 resource (it brings its own encoder), not a look-alike object.
        response.answers.push(new Packet.Resource({ ...base, ...data }));
      }
      void send(response);
    });
    await server.listen(this.port, this.address);
    this.#server = server;
  }

  /** The entry of a name: exact, else the closest `*.parent` wildcard. */
  #find(name: string): ZoneEntry | undefined {
    const exact = this.zone.get(name);
    if (exact !== undefined) return exact;
    const labels = name.split('.');
    for (let index = 1; index < labels.length; index += 1) {
      const wildcard = this.zone.get(`*.${labels.slice(index).join('.')}`);
      if (wildcard !== undefined) return wildcard;
    }
    return undefined;
  }

  /** How many queries asked for this name. */
  count(name: string): number {
    return this.#counts.get(name.toLowerCase()) ?? 0;
  }

  async stop(): Promise<void> {
    const server = this.#server;
    this.#server = null;
    if (server) await new Promise<void>((resolve) => server.close(() => resolve()));
  }
}
