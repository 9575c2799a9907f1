import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { memo } from '../../src/cache/memo.js';

describe('memo', () => {
  it('makes an item once per key and gives later calls the same item', () => {
    const made: string[] = [];
    const lengthOf = memo((key: string) => {
      made.push(key);
      return { length: key.length };
    });
    const first = lengthOf('abc');
    assert.equal(lengthOf('abc'), first);
    assert.deepEqual(lengthOf('de'), { length: 2 });
    assert.deepEqual(made, ['abc', 'de']);
  });

  it('keeps its items in the store it is given', () => {
    const store = new WeakMap<object, number>();
    const key = {};
    let calls = 0;
    const numberOf = memo(() => ++calls, store);
    assert.equal(numberOf(key), 1);
    assert.equal(numberOf(key), 1);
    assert.equal(store.get(key), 1);
    assert.equal(numberOf({}), 2);
  });
});
