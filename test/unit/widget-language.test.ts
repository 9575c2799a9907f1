import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { pickText } from '../../widget/src/i18n.js';

const texts = [
  { lang: 'fr', text: 'Français' },
  { lang: 'de-ch', text: 'Schweiz' },
  { lang: 'de', text: 'Deutsch' },
  { lang: 'en', text: 'English' },
];

describe('pickText: the widget picks a document text by its language', () => {
  it('takes the exact tag first, case and underscore aside', () => {
    assert.equal(pickText(texts, 'de-CH')?.text, 'Schweiz');
    assert.equal(pickText(texts, 'de_ch')?.text, 'Schweiz');
    assert.equal(pickText(texts, 'DE')?.text, 'Deutsch');
  });

  it('then the same primary subtag, in either direction', () => {
    assert.equal(pickText(texts, 'de-AT')?.text, 'Schweiz');
    assert.equal(pickText([{ lang: 'pt-br', text: 'Brasil' }, { lang: 'en', text: 'English' }], 'pt')?.text, 'Brasil');
  });

  it('then English (or an English variant), then the first text', () => {
    assert.equal(pickText(texts, 'ja')?.text, 'English');
    assert.equal(pickText(texts, null)?.text, 'English');
    assert.equal(pickText([{ lang: 'nl', text: 'Nederlands' }, { lang: 'en-gb', text: 'British' }], 'ja')?.text, 'British');
    assert.equal(pickText([{ lang: 'nl', text: 'Nederlands' }, { lang: 'und', text: '?' }], 'ja')?.text, 'Nederlands');
    assert.equal(pickText([], 'de'), undefined);
  });
});
