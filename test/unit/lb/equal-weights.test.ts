// Round robin over equal-capacity endpoints: exact shares, rotating order, per-service state.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { RoundRobinBalancer } from '../../../src/dataplane/lb.js';
import { endpoint, tally } from './endpoints-fixture.js';

test('30 picks over 3 equal endpoints give exactly 10 each, in a rotating order', () => {
  const lb = new RoundRobinBalancer();
  const endpoints = [endpoint('a'), endpoint('b'), endpoint('c')];
  const { counts, order } = tally(() => lb.pick('default/svc', endpoints), 30);
  assert.deepEqual(counts, { a: 10, b: 10, c: 10 });
  assert.deepEqual(order.slice(0, 7), ['a', 'b', 'c', 'a', 'b', 'c', 'a']);
});

test('N×k picks over N equal endpoints give exactly k each for several N', () => {
  for (const n of [1, 2, 5, 7]) {
    const lb = new RoundRobinBalancer();
    const endpoints = Array.from({ length: n }, (_, i) => endpoint(`e${i}`));
    const { counts } = tally(() => lb.pick('svc', endpoints), n * 4);
    assert.deepEqual(Object.values(counts), new Array<number>(n).fill(4), `n=${n}`);
  }
});

test('each service key rotates independently', () => {
  const lb = new RoundRobinBalancer();
  const endpoints = [endpoint('a'), endpoint('b')];
  assert.equal(lb.pick('svc-1', endpoints)?.workload.name, 'a');
  assert.equal(lb.pick('svc-2', endpoints)?.workload.name, 'a');
  assert.equal(lb.pick('svc-1', endpoints)?.workload.name, 'b');
  lb.forget('svc-1');
  assert.equal(lb.pick('svc-1', endpoints)?.workload.name, 'a');
  assert.equal(lb.pick('svc-2', endpoints)?.workload.name, 'b');
});

test('no endpoints gives undefined', () => {
  assert.equal(new RoundRobinBalancer().pick('svc', []), undefined);
});
