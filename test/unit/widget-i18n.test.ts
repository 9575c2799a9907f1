import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { en, STRINGS, stringsFor, type Strings } from '../../widget/src/i18n.js';
import { translationProblems } from '../helpers/i18n-check.js';

/** The languages the widget promises to speak. */
const REQUIRED = ['en', 'de', 'fr', 'es', 'it', 'nl', 'pt', 'pl', 'sv', 'ja'] as const;

/** Everything wrong with one widget table compared with English (the checker the desk's tables use too). */
const problemsOf = (table: Record<string, unknown>) => translationProblems(table, en);

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
