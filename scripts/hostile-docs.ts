// Hostile documents for the benches (bench:parse, bench:hostile): the costliest shapes a stranger's
// autoconfig host or Autodiscover endpoint can serve, each grown as far as the given limits allow
// (bytes, elements, attributes, depth), so "the worst document the caps allow" is built, not guessed.

/** Limits a hostile document is grown to. */
export interface DocumentLimits {
  maxBytes: number;
  maxElements: number;
  maxAttributes: number;
  maxDepth: number;
}

/** One hostile shape: its name and its document. */
export interface HostileDocument {
  shape: string;
  xml: string;
}

type Format = 'autoconfig' | 'autodiscover';

const OPEN: Record<Format, string> = {
  autoconfig: '<?xml version="1.0"?>\n<clientConfig version="1.1"><emailProvider id="hostile.test">',
  autodiscover:
    '<?xml version="1.0" encoding="utf-8"?>\n<Autodiscover xmlns="http://schemas.microsoft.com/exchange/autodiscover/responseschema/2006">' +
    '<Response xmlns="http://schemas.microsoft.com/exchange/autodiscover/outlook/responseschema/2006a"><Account><AccountType>email</AccountType><Action>settings</Action>',
};
const CLOSE: Record<Format, string> = {
  autoconfig: '</emailProvider></clientConfig>\n',
  autodiscover: '</Account></Response></Autodiscover>\n',
};
/** Elements, attributes and depth the wrapper itself uses (so the filling stays within the caps). */
const WRAPPER: Record<Format, { elements: number; attributes: number; depth: number }> = {
  autoconfig: { elements: 2, attributes: 2, depth: 2 },
  autodiscover: { elements: 5, attributes: 2, depth: 3 },
};

/** A valid server section (so the reader does all of its per-server work), `index` makes hosts distinct. */
function server(format: Format, index: number): { xml: string; elements: number; attributes: number } {
  if (format === 'autoconfig') {
    const kind = index % 3 === 2 ? 'outgoingServer' : 'incomingServer';
    const type = index % 3 === 0 ? 'imap' : index % 3 === 1 ? 'pop3' : 'smtp';
    return {
      xml: `<${kind} type="${type}"><hostname>h${index}.hostile.test</hostname><port>993</port><socketType>SSL</socketType><username>%EMAILADDRESS%</username><authentication>password-cleartext</authentication></${kind}>`,
      elements: 6,
      attributes: 1,
    };
  }
  const type = ['IMAP', 'POP3', 'SMTP'][index % 3];
  return {
    xml: `<Protocol><Type>${type}</Type><Server>h${index}.hostile.test</Server><Port>993</Port><SSL>on</SSL><SPA>off</SPA><LoginName>%EMAILADDRESS%</LoginName></Protocol>`,
    elements: 7,
    attributes: 0,
  };
}

/** Repeats `unit` while the document stays within the byte, element and attribute limits. */
function fill(format: Format, limits: DocumentLimits, unit: (index: number) => { xml: string; elements: number; attributes: number }): string {
  const head = OPEN[format];
  const tail = CLOSE[format];
  let bytes = head.length + tail.length;
  let elements = WRAPPER[format].elements;
  let attributes = WRAPPER[format].attributes;
  const parts: string[] = [];
  for (let index = 0; ; index += 1) {
    const next = unit(index);
    if (bytes + next.xml.length > limits.maxBytes || elements + next.elements > limits.maxElements || attributes + next.attributes > limits.maxAttributes) break;
    parts.push(next.xml);
    bytes += next.xml.length;
    elements += next.elements;
    attributes += next.attributes;
  }
  return head + parts.join('') + tail;
}

/** The hostile shapes of one format, each as large as `limits` allow. */
export function hostileDocuments(format: Format, limits: DocumentLimits): HostileDocument[] {
  const documents: HostileDocument[] = [];
  // Many siblings: the smallest element there is, as often as allowed.
  documents.push({ shape: 'many siblings', xml: fill(format, limits, () => ({ xml: '<x/>', elements: 1, attributes: 0 })) });
  // Many attributes: on as few elements as possible (one element takes them all when no per-element cap exists).
  documents.push({
    shape: 'many attributes',
    xml: fill(format, limits, (index) => ({ xml: ` a${index}=""`, elements: 0, attributes: 1 })).replace(/((?: a\d+="")+)/, '<x$1/>'),
  });
  // Many attributes spread over many elements (both caps at once).
  documents.push({
    shape: 'siblings with attributes',
    xml: fill(format, limits, (index) => ({ xml: `<x a="${index}" b="" c=""/>`, elements: 1, attributes: 3 })),
  });
  // Deep nesting: chains as deep as allowed, repeated.
  const depth = Math.max(1, Math.min(limits.maxDepth - WRAPPER[format].depth, 100_000));
  const chain = (levels: number) => `${'<d>'.repeat(levels)}${'</d>'.repeat(levels)}`;
  documents.push({ shape: 'deep nesting', xml: fill(format, limits, () => ({ xml: chain(Math.min(depth, 5_000)), elements: Math.min(depth, 5_000), attributes: 0 })) });
  // Long text: one value as long as the byte cap allows.
  const room = limits.maxBytes - OPEN[format].length - CLOSE[format].length - 40;
  const tag = format === 'autoconfig' ? 'displayName' : 'AccountType';
  documents.push({ shape: 'long text', xml: `${OPEN[format]}<${tag}>${'a'.repeat(Math.max(0, room))}</${tag}>${CLOSE[format]}` });
  // Long text with entity references (decoded by the reader itself).
  documents.push({ shape: 'text of entity references', xml: `${OPEN[format]}<${tag}>${'&amp;'.repeat(Math.max(0, Math.floor(room / 5)))}</${tag}>${CLOSE[format]}` });
  // Many valid servers: all the per-server validation work.
  documents.push({ shape: 'many servers', xml: fill(format, limits, (index) => server(format, index)) });
  return documents;
}
