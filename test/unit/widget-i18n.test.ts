import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { en, STRINGS, stringsFor, type Strings } from '../../widget/src/i18n.js';

/** The languages the widget promises to speak. */
const REQUIRED = ['en', 'de', 'fr', 'es', 'it', 'nl', 'pt', 'pl', 'sv', 'ja'] as const;

/** Names a mail app shows as they are: a translation must keep each one its English string has. */
const TERMS = ['IMAP', 'POP3', 'SMTP', 'SSL/TLS', 'STARTTLS'] as const;

const placeholders = (text: string) => [...new Set([...text.matchAll(/\{(\w+)\}/g)].map((match) => match[1]))].sort();

/** Everything wrong with one table compared with English, one line each (empty when it is complete). */
function problemsOf(table: Record<string, unknown>): string[] {
  const problems: string[] = [];
  // A copy, so the table is read as a plain string map (its keys are what is compared).
  const reference: Record<string, string> = { ...en };
  for (const key of Object.keys(reference)) {
    if (!Object.hasOwn(table, key)) problems.push(`${key}: missing`);
  }
  for (const [key, value] of Object.entries(table)) {
    const english = reference[key];
    if (english === undefined) {
      problems.push(`${key}: not a key of the English table`);
      continue;
    }
    if (typeof value !== 'string' || value.trim() === '') {
      problems.push(`${key}: empty`);
      continue;
    }
    const wanted = placeholders(english);
    const got = placeholders(value);
    if (wanted.join() !== got.join()) problems.push(`${key}: placeholders {${got.join('}, {')}} instead of {${wanted.join('}, {')}}`);
    for (const term of TERMS) {
      if (english.includes(term) && !value.includes(term)) problems.push(`${key}: drops the term ${term}`);
    }
  }
  return problems;
}

describe('widget translations', () => {
  it('has a table for every required language', () => {
    for (const code of REQUIRED) assert.ok(Object.hasOwn(STRINGS, code), `no table for ${code}`);
  });

  for (const [code, table] of Object.entries(STRINGS)) {
    it(`${code}: the same keys as English, none empty, the same {placeholders} and technical terms`, () => {
      assert.deepEqual(problemsOf({ ...table }), []);
    });
  }

  it('reports a missing, an extra and an empty key, and a dropped or renamed placeholder', () => {
    const broken: Record<string, unknown> = { ...STRINGS.fr, extra: 'x', title: ' ' };
    delete broken.find;
    broken.found = 'Paramètres pour {nom} : {protocol} recommandé.';
    broken.checkOkCert = 'Le serveur a répondu en {ms} ms.';
    broken.outgoing = 'Envoi des e-mails';
    assert.deepEqual(problemsOf(broken).sort(), [
      'checkOkCert: placeholders {ms} instead of {days}, {ms}',
      'extra: not a key of the English table',
      'find: missing',
      'found: placeholders {nom}, {protocol} instead of {name}, {protocol}',
      'outgoing: drops the term SMTP',
      'title: empty',
    ]);
  });

  it('differs from English in every non-English language (no table left untranslated)', () => {
    for (const [code, table] of Object.entries(STRINGS)) {
      if (code === 'en') continue;
      assert.notEqual(table.title, en.title, code);
      assert.notEqual(table.whyImap, en.whyImap, code);
    }
  });
});

describe('stringsFor: the table for a language tag', () => {
  const cases: [string, string][] = [
    ['en', 'en'],
    ['en-GB', 'en'],
    ['de', 'de'],
    ['de-AT', 'de'],
    ['fr', 'fr'],
    ['fr-CA', 'fr'],
    ['FR-ch', 'fr'],
    ['es', 'es'],
    ['es-419', 'es'],
    ['it-IT', 'it'],
    ['nl-BE', 'nl'],
    ['pt', 'pt'],
    ['pt-BR', 'pt'],
    ['pt_PT', 'pt'],
    ['pl-PL', 'pl'],
    ['sv', 'sv'],
    ['sv-SE', 'sv'],
    ['sv-FI', 'sv'],
    ['ja', 'ja'],
    ['ja-JP', 'ja'],
    [' ja-jp ', 'ja'],
  ];
  for (const [tag, code] of cases) {
    it(`${JSON.stringify(tag)} → ${code}`, () => {
      assert.equal(stringsFor(tag), STRINGS[code] as Strings);
    });
  }

  it('falls back to English for unknown, empty and missing tags, and for Object.prototype names', () => {
    for (const tag of ['zh-CN', 'x-klingon', 'und', '', '-', null, undefined, 'constructor', 'toString', '__proto__', 'hasOwnProperty']) {
      assert.equal(stringsFor(tag), en, String(tag));
    }
  });
});
