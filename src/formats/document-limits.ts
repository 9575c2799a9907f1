// Bounded work per lookup: how much of a stranger's document the service reads, and how much of
// what it says it keeps. Every number is measured against real documents and against the hostile
// shapes of `npm run bench:parse` (goal: ≤ 25 ms CPU for the worst document these caps allow).

/**
 * Body cap of an autoconfig or ISPDB document (and of a PACC document). The largest file of
 * Thunderbird's ISPDB (github.com/thunderbird/autoconfig, ispdb/, March 2026) is mail.com.xml at
 * 8,712 bytes (median 1,222 bytes over 163 files), so 32 KiB leaves almost four times that.
 * Security: main read up to 256 KiB, and a hostile 256 KiB document took 140–324 ms of CPU to parse.
 */
export const DOCUMENT_MAX_BYTES = 32 * 1024;

/**
 * Body cap of an Autodiscover answer: an Exchange server's answer lists more Protocol sections and
 * URLs than an autoconfig file (several KiB), so it gets twice the autoconfig cap.
 */
export const AUTODISCOVER_MAX_BYTES = 64 * 1024;

/**
 * Body cap of an Autodiscover request this service answers (SERVE_DOMAINS): a real POX request is
 * about 350 bytes (one address and one schema URI), so 8 KiB leaves room for long addresses and
 * white space while a stranger's upload is refused before it is read further.
 */
export const AUTODISCOVER_REQUEST_MAX_BYTES = 8 * 1024;

/**
 * Elements read at most from one XML document. mail.com.xml, the largest ISPDB file, has 233
 * elements (mostly <domain> entries); 400 leaves room for that and more, while the worst document
 * within it stays a short parse: at 1,000 one hostile client at the default rate limit could still
 * double the cached-lookup p99 (bench:hostile).
 */
export const XML_MAX_ELEMENTS = 400;

/**
 * Attributes read at most from one XML document. No ISPDB file has more than 27 `=` signs; parsing
 * costs about 7 µs per attribute (bench:parse), so 200 attributes cost about a millisecond.
 */
export const XML_MAX_ATTRIBUTES = 200;

/**
 * Element nesting read at most: autoconfig and Autodiscover documents are four to six levels deep.
 * Nesting costs the parser more per element than siblings do (it tracks each element's path).
 */
export const XML_MAX_DEPTH = 10;

/**
 * Servers kept per protocol (IMAP, POP3, SMTP) from one document, and in one answer. No ISPDB file
 * lists more than six incoming servers; a document listing thousands (one produced 2,150 servers and
 * a 548 KB answer) is cut to the first ten per protocol, in document order (its own ranking).
 */
export const MAX_SERVERS_PER_PROTOCOL = 10;

/**
 * `<enable>` and `<documentation>` entries kept from one document (each kind on its own). ISPDB files
 * have one or two of each; every kept text is shown to users and stored in each cached answer.
 */
export const MAX_GUIDANCE_ENTRIES = 5;

/** Languages kept per `<enable>` or `<documentation>` entry (the first text of each language, in document order). */
export const MAX_GUIDANCE_LANGUAGES = 10;

/**
 * Characters (code points) kept of one `<instruction>` or `<descr>` text; longer ones are cut and end
 * in "…". Real ones are a sentence or two; 500 keeps them whole and keeps a stranger's essay out of the widget.
 */
export const GUIDANCE_TEXT_MAX_CHARS = 500;

/** Reasons for dropping parts of a document listed at most in a result's detail (the rest are counted). */
export const MAX_DROPPED_NOTES = 10;

/** Stable code of a document refused by the counts above. */
export type TooComplex = { ok: false; error: 'too_complex'; message: string };

/** The counts of an XML document as the pre-parse scan saw them (up to the first cap passed). */
export interface XmlCounts {
  elements: number;
  attributes: number;
  depth: number;
}

/** The caps of the pre-parse scan (defaults: the constants above). */
export interface XmlLimits {
  maxElements: number;
  maxAttributes: number;
  maxDepth: number;
}

const DEFAULT_XML_LIMITS: XmlLimits = { maxElements: XML_MAX_ELEMENTS, maxAttributes: XML_MAX_ATTRIBUTES, maxDepth: XML_MAX_DEPTH };

const QUOTE_DOUBLE = 34;
const QUOTE_SINGLE = 39;
const EQUALS = 61;
const GREATER = 62;
const SLASH = 47;
const BANG = 33;
const QUESTION = 63;

/** The refusal of a document with more of `what` than `cap`. */
function tooComplex(what: string, cap: number): TooComplex {
  return { ok: false, error: 'too_complex', message: `the document has more than ${cap} ${what}; a real one has far fewer` };
}

/** Where the end tag, comment, CDATA section, declaration or processing instruction at `index` ends; -1 when it never does. */
function markupEnd(xml: string, index: number, next: number): number {
  if (next === BANG) {
    // A comment, CDATA section or declaration: skipped to its own end.
    return xml.startsWith('<!--', index) ? xml.indexOf('-->', index + 4) : xml.startsWith('<![CDATA[', index) ? xml.indexOf(']]>', index + 9) : xml.indexOf('>', index + 2);
  }
  return next === QUESTION ? xml.indexOf('?>', index + 2) : xml.indexOf('>', index + 2);
}

/**
 * Counts the attributes of the start tag at `index` (an `=` outside quotes) up to its unquoted `>`:
 * where the tag ends and whether it closes itself, `undefined` when a quote never closes.
 */
function scanStartTag(xml: string, index: number, counts: XmlCounts, maxAttributes: number): { position: number; selfClosing: boolean } | TooComplex | undefined {
  let position = index + 1;
  while (position < xml.length) {
    const code = xml.charCodeAt(position);
    if (code === QUOTE_DOUBLE || code === QUOTE_SINGLE) {
      const close = xml.indexOf(code === QUOTE_DOUBLE ? '"' : "'", position + 1);
      if (close < 0) return undefined;
      position = close + 1;
      continue;
    }
    if (code === EQUALS) {
      counts.attributes += 1;
      if (counts.attributes > maxAttributes) return tooComplex('attributes', maxAttributes);
    } else if (code === GREATER) {
      return { position, selfClosing: xml.charCodeAt(position - 1) === SLASH };
    }
    position += 1;
  }
  return { position, selfClosing: false };
}

/**
 * Counts elements, attributes and nesting depth of an XML text in one pass, stopping at the first
 * cap passed, before any parser sees it. Security: this is what bounds a hostile document's parse
 * cost (the parser's work grows with these counts, not only with bytes). The scan does not check
 * well-formedness (the validator does that next): quoted attribute values are skipped, so a `>` or
 * `=` inside them counts for nothing; comments, CDATA and processing instructions are skipped whole.
 */
export function scanXml(xml: string, limits: XmlLimits = DEFAULT_XML_LIMITS): { ok: true; counts: XmlCounts } | TooComplex {
  const counts: XmlCounts = { elements: 0, attributes: 0, depth: 0 };
  let depth = 0;
  let index = xml.indexOf('<');
  while (index >= 0 && index < xml.length) {
    const next = xml.charCodeAt(index + 1);
    if (next === BANG || next === QUESTION || next === SLASH) {
      if (next === SLASH) depth -= 1;
      const end = markupEnd(xml, index, next);
      if (end < 0) break;
      index = xml.indexOf('<', end);
      continue;
    }
    counts.elements += 1;
    if (counts.elements > limits.maxElements) return tooComplex('elements', limits.maxElements);
    const tag = scanStartTag(xml, index, counts, limits.maxAttributes);
    if (tag === undefined) return { ok: true, counts };
    if ('ok' in tag) return tag;
    if (!tag.selfClosing) {
      depth += 1;
      if (depth > counts.depth) counts.depth = depth;
      if (depth > limits.maxDepth) return tooComplex('levels of nesting', limits.maxDepth);
    }
    index = xml.indexOf('<', tag.position);
  }
  return { ok: true, counts };
}

/**
 * The first `MAX_DROPPED_NOTES` reasons, then how many more there were: a document with thousands
 * of broken sections must not turn into a detail of thousands of lines in every cached answer.
 */
export function boundedNotes(notes: readonly string[], max = MAX_DROPPED_NOTES): string[] {
  if (notes.length <= max) return [...notes];
  return [...notes.slice(0, max), `and ${notes.length - max} more`];
}

/**
 * Keeps the first `max` servers of each protocol, in order; says how many of each were dropped.
 * Used by the document readers (document order) and by the resolver's merge (rank order).
 */
export function capPerProtocol<T extends { protocol: string }>(servers: readonly T[], max = MAX_SERVERS_PER_PROTOCOL): { kept: T[]; dropped: T[] } {
  const seen = new Map<string, number>();
  const kept: T[] = [];
  const dropped: T[] = [];
  for (const server of servers) {
    const count = seen.get(server.protocol) ?? 0;
    seen.set(server.protocol, count + 1);
    (count < max ? kept : dropped).push(server);
  }
  return { kept, dropped };
}

/** A note such as "12 imap, 3 smtp server(s) beyond the first 10 per protocol dropped", or undefined. */
export function droppedServersNote(dropped: readonly { protocol: string }[], max = MAX_SERVERS_PER_PROTOCOL): string | undefined {
  if (dropped.length === 0) return undefined;
  const byProtocol = new Map<string, number>();
  for (const server of dropped) byProtocol.set(server.protocol, (byProtocol.get(server.protocol) ?? 0) + 1);
  return `${[...byProtocol].map(([protocol, count]) => `${count} ${protocol}`).join(', ')} server(s) beyond the first ${max} per protocol dropped`;
}
