import { escapeXml } from '../formats/autodiscover-xml.js';

/** A property-list value as this service writes them (Apple's XML plist 1.0: no dates or data needed). */
export type PlistValue = string | number | boolean | PlistValue[] | { [key: string]: PlistValue };

function element(value: PlistValue, indent: string): string[] {
  if (typeof value === 'string') return [`${indent}<string>${escapeXml(value)}</string>`];
  if (typeof value === 'boolean') return [`${indent}<${value}/>`];
  if (typeof value === 'number') {
    if (!Number.isSafeInteger(value)) throw new RangeError('plist integers only');
    return [`${indent}<integer>${value}</integer>`];
  }
  if (Array.isArray(value)) return [`${indent}<array>`, ...value.flatMap((item) => element(item, `${indent}\t`)), `${indent}</array>`];
  const entries = Object.entries(value).flatMap(([key, item]) => [`${indent}\t<key>${escapeXml(key)}</key>`, ...element(item, `${indent}\t`)]);
  return [`${indent}<dict>`, ...entries, `${indent}</dict>`];
}

/** Writes an XML property list (the format of .mobileconfig files), keys in the given order. */
export function plistXml(root: { [key: string]: PlistValue }): string {
  return [
    '<?xml version="1.0" encoding="UTF-8"?>',
    '<!DOCTYPE plist PUBLIC "-//Apple//DTD PLIST 1.0//EN" "http://www.apple.com/DTDs/PropertyList-1.0.dtd">',
    '<plist version="1.0">',
    ...element(root, ''),
    '</plist>',
    '',
  ].join('\n');
}
