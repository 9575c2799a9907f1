import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { PendingDiscoveries } from '../../src/routes/lookup.js';

describe('PendingDiscoveries (free pass for requests joining a discovery)', () => {
  it('marks, releases, and forgets a marker after its maximum age', (t) => {
    // Markers age on Date.now: a mocked clock the test moves.
    t.mock.timers.enable({ apis: ['Date'], now: 1_000_000 });
    const pending = new PendingDiscoveries(30);
    assert.equal(pending.has('a.test'), false);
    pending.add('a.test');
    assert.equal(pending.has('a.test'), true);
    pending.delete('a.test');
    assert.equal(pending.has('a.test'), false);
    pending.add('b.test');
    t.mock.timers.tick(30);
    assert.equal(pending.has('b.test'), true, 'alive for its whole maximum age');
    t.mock.timers.tick(1);
    assert.equal(pending.has('b.test'), false, 'a leaked marker never becomes a permanent bypass');
  });
});
