// Weighted round robin by workload capacity: exact proportions, smooth interleaving, capacity 0 never picked.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { RoundRobinBalancer, weightOf } from '../../../src/dataplane/lb.js';
import { endpoint, tally } from './endpoints-fixture.js';

test('weights 3:1 over 400 picks give exactly 300/100, interleaved', () => {
  const lb = new RoundRobinBalancer();
  const endpoints = [endpoint('heavy', 3), endpoint('light', 1)];
  const { counts, order } = tally(() => lb.pick('svc', endpoints), 400);
  assert.deepEqual(counts, { heavy: 300, light: 100 });
  assert.deepEqual(order.slice(0, 8), ['heavy', 'heavy', 'light', 'heavy', 'heavy', 'heavy', 'light', 'heavy']);
});

test('weights 5:1:1 follow the smooth sequence of nginx', () => {
  const lb = new RoundRobinBalancer();
  const endpoints = [endpoint('a', 5), endpoint('b', 1), endpoint('c', 1)];
  const { order } = tally(() => lb.pick('svc', endpoints), 7);
  assert.deepEqual(order, ['a', 'a', 'b', 'a', 'c', 'a', 'a']);
});

test('an endpoint with capacity 0 is never picked; all zero gives undefined', () => {
  const lb = new RoundRobinBalancer();
  const endpoints = [endpoint('drained', 0), endpoint('a'), endpoint('b')];
  const { counts } = tally(() => lb.pick('svc', endpoints), 20);
  assert.deepEqual(counts, { a: 10, b: 10 });
  assert.equal(lb.pick('svc', [endpoint('x', 0), endpoint('y', 0)]), undefined);
});

test('weightOf: missing capacity counts as 1, negative as 0', () => {
  const unset = endpoint('u');
  delete (unset.workload as { capacity?: number }).capacity;
  assert.equal(weightOf(unset), 1);
  assert.equal(weightOf(endpoint('n', -2)), 0);
  assert.equal(weightOf(endpoint('w', 4)), 4);
});
