import { XMLParser, XMLValidator } from 'fast-xml-parser';
import { scanXml } from './document-limits.js';

/** An element as fast-xml-parser gives it: child elements by name, `@attr` attributes, `#text`. */
export type XmlNode = Record<string, unknown>;

/** Why a document was refused before its content was read. */
export type XmlRefusal = { ok: false; error: 'doctype_refused' | 'malformed_xml' | 'too_complex'; message: string };

/**
 * A parser for documents written by strangers. Security: entities are never expanded (no billion
 * laughs, no external entities; DOCTYPEs are refused before parsing as well), values stay strings,
 * namespace prefixes are dropped. `isArray` decides which elements are read as lists.
 */
export function hardenedXmlParser(isArray: (name: string, path: string, isLeaf: boolean, isAttribute: boolean) => boolean): XMLParser {
  return new XMLParser({
    ignoreAttributes: false,
    attributeNamePrefix: '@',
    processEntities: false,
    htmlEntities: false,
    parseTagValue: false,
    parseAttributeValue: false,
    trimValues: true,
    ignoreDeclaration: true,
    ignorePiTags: true,
    removeNSPrefix: true,
    isArray: (name, jPath, isLeaf, isAttribute) => isArray(name, String(jPath), isLeaf, isAttribute),
  });
}

/**
 * Parses an untrusted document in the one safe order: any DOCTYPE or ENTITY declaration refuses it,
 * then the caps of document-limits.ts (a cheap scan, before any parser sees it), then validation,
 * then parsing. Every failure is a value.
 */
export function parseHardenedXml(xml: string, parser: XMLParser): { ok: true; document: XmlNode } | XmlRefusal {
  if (/<!(DOCTYPE|ENTITY)/i.test(xml)) {
    return { ok: false, error: 'doctype_refused', message: 'DOCTYPE and ENTITY declarations are refused' };
  }
  const scan = scanXml(xml);
  if (!scan.ok) return scan;
  const valid = XMLValidator.validate(xml);
  if (valid !== true) {
    return { ok: false, error: 'malformed_xml', message: `malformed XML at line ${valid.err.line}: ${valid.err.msg.slice(0, 120)}` };
  }
  try {
    return { ok: true, document: parser.parse(xml) as XmlNode };
  } catch (error) {
    return { ok: false, error: 'malformed_xml', message: `malformed XML: ${String((error as Error).message).slice(0, 120)}` };
  }
}

/** The element children of a value (one, a list, or none), never text or attributes. */
export const xmlNodes = (value: unknown): XmlNode[] =>
  (Array.isArray(value) ? value : value === undefined ? [] : [value]).filter((item): item is XmlNode => typeof item === 'object' && item !== null);

/** Decodes the five predefined XML entities and numeric references; no other entity exists here. */
export function decodeBasicEntities(value: string): string {
  return value.replace(/&(lt|gt|amp|quot|apos|#\d{1,7}|#x[0-9a-fA-F]{1,6});/g, (_match, name: string) => {
    if (name === 'lt') return '<';
    if (name === 'gt') return '>';
    if (name === 'amp') return '&';
    if (name === 'quot') return '"';
    if (name === 'apos') return "'";
    const code = name.startsWith('#x') ? parseInt(name.slice(2), 16) : parseInt(name.slice(1), 10);
    return code > 0 && code <= 0x10ffff ? String.fromCodePoint(code) : '';
  });
}
