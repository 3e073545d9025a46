// Round robin across endpoint-set changes: removed endpoints stop at once, the others keep their rotation.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { RoundRobinBalancer } from '../../../src/dataplane/lb.js';
import { endpoint, tally } from './endpoints-fixture.js';

test('an endpoint removed mid-stream is never returned again and the rest stay balanced', () => {
  const lb = new RoundRobinBalancer();
  const [a, b, c] = [endpoint('a'), endpoint('b'), endpoint('c')];
  assert.deepEqual(tally(() => lb.pick('svc', [a, b, c]), 4).order, ['a', 'b', 'c', 'a']);
  // b was next; it leaves. a was just picked and keeps its place in the rotation, so c, which is behind
  // by one pick, catches up first; after that the two alternate and the whole stream stays even.
  const after = tally(() => lb.pick('svc', [a, c]), 10);
  assert.deepEqual(after.order, ['c', 'c', 'a', 'c', 'a', 'c', 'a', 'c', 'a', 'c']);
  assert.deepEqual(after.counts, { a: 4, c: 6 }); // a: 2 + 4 = 6 and c: 1 + 6 = 7 over the whole stream
});

test('an endpoint added mid-stream joins the rotation and gets its equal share', () => {
  const lb = new RoundRobinBalancer();
  const [a, b, c] = [endpoint('a'), endpoint('b'), endpoint('c')];
  tally(() => lb.pick('svc', [a, b]), 3);
  // a was picked twice and b once; the rotation continues with b (next after a), c joins behind it.
  const { counts, order } = tally(() => lb.pick('svc', [a, b, c]), 30);
  assert.deepEqual(order.slice(0, 6), ['b', 'c', 'a', 'b', 'c', 'a']);
  assert.deepEqual(counts, { a: 10, b: 10, c: 10 });
});

test('a removed endpoint that comes back starts afresh', () => {
  const lb = new RoundRobinBalancer();
  const [a, b] = [endpoint('a', 2), endpoint('b', 1)];
  tally(() => lb.pick('svc', [a, b]), 2);
  tally(() => lb.pick('svc', [a]), 1);
  assert.deepEqual(tally(() => lb.pick('svc', [a, b]), 3).counts, { a: 2, b: 1 });
});
