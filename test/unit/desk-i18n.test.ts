import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { describe, it } from 'node:test';
import { fillDeskNoscript } from '../../scripts/build-widget.js';
import { auditCodeSchema, auditSeveritySchema } from '../../src/api/audit.js';
import { sourceOutcomeSchema } from '../../src/api/schemas.js';
import { SOURCE_TABLE } from '../../src/sources/source-table.js';
import { DESK_STRINGS, deskEn, deskLanguage } from '../../widget/src/desk-i18n.js';
import { fillParts, STRINGS } from '../../widget/src/i18n.js';
import { DESK_SAME_AS_ENGLISH as SAME_AS_ENGLISH, flatten, TECHNICAL_NAMES, translationProblems } from '../helpers/i18n-check.js';

const DESK_HTML = new URL('../../widget/pages/desk.html', import.meta.url);

/** English words that are no word of the language in question: one in a translation is an English leftover. */
const ENGLISH_WORDS = ['the', 'and', 'with', 'from', 'your', 'this', 'of', 'or', 'not', 'found', 'failed', 'lookup', 'sources', 'servers'];
/** Exceptions: words of that language too (Dutch `of` is "or", French `sources` and Dutch `servers` are plurals of their own). */
const NATIVE_WORDS: Record<string, string[]> = { fr: ['sources'], nl: ['of', 'servers'] };

/**
 * Markers a translator leaves in place of a translation: capitals only, as whole words by Unicode
 * letters (Spanish `todo` is a word, and `\b` would find "todo" in "método").
 */
const UNFINISHED = /(?<![\p{L}\p{N}_])(TODO|FIXME|XXX|TBD|TRANSLATE)(?![\p{L}\p{N}_])|^\[en\]/u;

/** English left in a non-English table: a string equal to its English one (unless listed or purely technical), an English word, a TODO. */
function englishLeftovers(code: string, table: unknown): string[] {
  const problems: string[] = [];
  const english = flatten(deskEn);
  const words = ENGLISH_WORDS.filter((word) => !(NATIVE_WORDS[code] ?? []).includes(word));
  for (const [key, value] of flatten(table)) {
    if (typeof value !== 'string') continue;
    const prose = value.replace(/\{\w+\}/g, ' ').replace(TECHNICAL_NAMES, ' ');
    const hasWords = /\p{L}{2,}/u.test(prose);
    if (value === english.get(key) && hasWords && !(SAME_AS_ENGLISH[code] ?? []).includes(key)) problems.push(`${key}: same as English`);
    const leftover = words.find((word) => new RegExp(`(^|[^\\p{L}])${word}($|[^\\p{L}])`, 'iu').test(prose));
    if (leftover) problems.push(`${key}: English word "${leftover}"`);
    if (UNFINISHED.test(value)) problems.push(`${key}: unfinished`);
  }
  return problems;
}

describe('desk translations', () => {
  it('has a desk table for every language the widget speaks', () => {
    assert.deepEqual(Object.keys(DESK_STRINGS).sort(), Object.keys(STRINGS).sort());
    assert.equal(Object.keys(DESK_STRINGS).length, 10);
  });

  for (const [code, table] of Object.entries(DESK_STRINGS)) {
    it(`${code}: the same sections and keys as English, none empty, the same {placeholders} and technical terms`, () => {
      assert.deepEqual(translationProblems(table, deskEn), []);
    });
    if (code === 'en') continue;
    it(`${code}: no English left in place of a translation`, () => {
      assert.deepEqual(englishLeftovers(code, table), []);
    });
  }

  it('lists only keys that exist and really are the same as English', () => {
    const english = flatten(deskEn);
    for (const [code, keys] of Object.entries(SAME_AS_ENGLISH)) {
      const table = flatten(DESK_STRINGS[code]);
      for (const key of keys) assert.equal(table.get(key), english.get(key), `${code} ${key}`);
    }
  });

  it('reports a missing, an extra, an empty and a misnamed key, a dropped term, and English leftovers', () => {
    const de = DESK_STRINGS.de;
    assert.ok(de, 'a German table');
    const { lookUp: _missing, ...page } = de.page;
    const broken = {
      ...de,
      page: { ...page, extra: 'x', title: ' ' },
      status: { ...de.status, answer: '{domain}: {server} Server aus {found} von {total} Quellen ({time}).' },
      trace: { ...de.trace, alternativesNote: 'Von der Domain veröffentlicht; kein Ersatz für die Einstellungen oben.' },
      checks: { ...de.checks, heading: 'Live checks', greeting: 'TODO' },
      answer: { ...de.answer, hints: 'Hinweise from Anbieter' },
    };
    assert.deepEqual(translationProblems(broken, deskEn).sort(), [
      'page.extra: not a key of the English table',
      'page.lookUp: missing',
      'page.title: empty',
      'status.answer: placeholders {domain}, {found}, {server}, {time}, {total} instead of {domain}, {found}, {servers}, {time}, {total}',
      'trace.alternativesNote: drops the term IMAP',
      'trace.alternativesNote: drops the term SMTP',
    ]);
    assert.deepEqual(englishLeftovers('de', broken).sort(), [
      'answer.hints: English word "from"',
      'checks.greeting: unfinished',
      'checks.heading: same as English',
    ]);
  });
});

describe('the table checker on deeper sections and lists (the Audit view’s section)', () => {
  it('names a missing list item and a lost placeholder by their full path', () => {
    const english = { audit: { columns: ['Server', 'Live check'], counts: { error: '{count} problems' } } };
    const german = { audit: { columns: ['Server'], counts: { error: 'Probleme' } } };
    assert.deepEqual(translationProblems(german, english).sort(), ['audit.columns.1: missing', 'audit.counts.error: placeholders {} instead of {count}']);
  });

  it('fails a real table that lacks an audit key, a column, a code’s label or a method’s name, or drops a term', () => {
    const fr = DESK_STRINGS.fr;
    assert.ok(fr, 'a French table');
    const { statusCached: _noStatus, ...audit } = fr.audit;
    const { srv_missing: _noLabel, ...codes } = fr.audit.codes;
    const { pacc: _noName, ...methodNames } = fr.audit.methodNames;
    const broken = {
      ...fr,
      audit: {
        ...audit,
        columns: fr.audit.columns.slice(0, -1),
        codes: { ...codes, http_only_autoconfig: 'Configuration automatique en clair seulement' },
        methodNames,
      },
    };
    assert.deepEqual(translationProblems(broken, deskEn).sort(), [
      'audit.codes.http_only_autoconfig: drops the term Autoconfig',
      'audit.codes.http_only_autoconfig: drops the term HTTP',
      'audit.codes.srv_missing: missing',
      'audit.columns.3: missing',
      'audit.methodNames.pacc: missing',
      'audit.statusCached: missing',
    ]);
  });
});

describe('the Audit view’s labels cover every code the API sends', () => {
  const keys = (section: object) => Object.keys(section).sort();
  it('has a label for every finding code and severity, and for no other', () => {
    assert.deepEqual(keys(deskEn.audit.codes), [...auditCodeSchema.options].sort());
    assert.deepEqual(keys(deskEn.audit.severities), [...auditSeveritySchema.options].sort());
    assert.deepEqual(keys(deskEn.audit.counts), [...auditSeveritySchema.options].sort());
  });

  it('names every publication method (every source of the source table), and labels every method outcome', () => {
    assert.deepEqual(keys(deskEn.audit.methodNames), Object.values(SOURCE_TABLE).map((source) => source.name).sort());
    assert.deepEqual(keys(deskEn.outcome), [...sourceOutcomeSchema.options].sort());
  });
});

describe('deskLanguage: ?lang=, else the browser’s languages, else English', () => {
  const cases: [string | null, string[], string][] = [
    ['de', ['fr-FR'], 'de'],
    ['pt-BR', [], 'pt'],
    ['JA_jp', ['en-US'], 'ja'],
    [null, ['sv-SE', 'en'], 'sv'],
    [null, ['zh-CN', 'nl-BE', 'de'], 'nl'],
    ['zh', ['pl-PL'], 'pl'],
    ['', ['it'], 'it'],
    [null, ['zh-CN', 'ko'], 'en'],
    [null, [], 'en'],
    ['constructor', ['__proto__', 'toString'], 'en'],
  ];
  for (const [requested, preferred, code] of cases) {
    it(`lang=${JSON.stringify(requested)}, navigator.languages=${JSON.stringify(preferred)} → ${code}`, () => {
      assert.equal(deskLanguage(requested, preferred), code);
    });
  }
});

describe('desk.html: every visible text is a key of the page table', () => {
  it('has the English of each data-i18n key, a known key everywhere, and no other text but the product name', async () => {
    const html = await readFile(DESK_HTML, 'utf8');
    const keyed = [...html.matchAll(/<(\w+)[^>]*\bdata-i18n="(\w+)"[^>]*>([^<]*)<\/\1>/g)];
    assert.ok(keyed.length >= 8, `only ${keyed.length} data-i18n elements`);
    for (const [, , key, text] of keyed) assert.equal(text, deskEn.page[key as keyof typeof deskEn.page], key);
    const placeholder = html.match(/placeholder="([^"]*)"[^>]*data-i18n-placeholder="(\w+)"/);
    assert.equal(placeholder?.[2], 'queryPlaceholder');
    assert.equal(placeholder?.[1], deskEn.page.queryPlaceholder);
    assert.equal(html.match(/<title>([^<]*)<\/title>/)?.[1], deskEn.page.title);
    const rest = html
      .replace(/<head>[\s\S]*<\/head>/, '')
      .replace(/<!--[\s\S]*?-->/g, '')
      .replace(/<(\w+)[^>]*\bdata-i18n="\w+"[^>]*>[^<]*<\/\1>/g, '')
      .replace(/<[^>]+>/g, ' ')
      .replace(/\s+/g, ' ')
      .trim();
    assert.equal(rest, 'Mail Settings Lookup');
  });

  it('gets its <noscript> text in every language from the build, each marked with its lang', async () => {
    const built = fillDeskNoscript(await readFile(DESK_HTML, 'utf8'));
    const noscript = built.match(/<noscript>([\s\S]*)<\/noscript>/)?.[1] ?? '';
    for (const [code, table] of Object.entries(DESK_STRINGS)) {
      assert.ok(noscript.includes(`<p class="status problem" lang="${code}">${table.page.needsJavaScript}</p>`), code);
    }
    assert.throws(() => fillDeskNoscript('<noscript></noscript>'), /marker/);
  });
});

describe('fillParts: a template with element values, in the translation’s word order', () => {
  it('puts each value where its placeholder is, and keeps the text around it', () => {
    const url = { element: 'a' };
    const source = { element: 'code' };
    assert.deepEqual(fillParts('{what} from {source}', { what: url, source }), [url, ' from ', source]);
    assert.deepEqual(fillParts('{what}（情報源：{source}）', { what: url, source }), [url, '（情報源：', source, '）']);
    assert.deepEqual(fillParts('Documentation: {url}', { url }), ['Documentation: ', url]);
  });

  it('leaves an unknown placeholder as text and ignores Object.prototype names', () => {
    assert.deepEqual(fillParts('a {missing} b {constructor}', {}), ['a {missing} b {constructor}']);
    assert.deepEqual(fillParts('no placeholders', { x: 1 }), ['no placeholders']);
  });
});
