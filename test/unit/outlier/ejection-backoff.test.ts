// OutlierDetector: a failed destination is ejected for a backoff that doubles per ejection up to the cap,
// a success clears it, and the balancer skips what the caller names while keeping the rotation of the rest.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { OutlierDetector, OUTLIER_BASE_EJECTION_MS, OUTLIER_MAX_EJECTION_MS } from '../../../src/dataplane/outlier-detection.js';
import { RoundRobinBalancer } from '../../../src/dataplane/lb.js';
import { endpoint, tally } from '../lb/endpoints-fixture.js';

test('ejection lasts 1 s, doubles per ejection in a row, caps at 10 s, and a success starts over', () => {
  let now = 1_000_000;
  const d = new OutlierDetector({ now: () => now });
  assert.equal(d.empty, true);
  assert.deepEqual(d.failure('proxy 127.0.10.2:15008'), { ejected: true, forMs: OUTLIER_BASE_EJECTION_MS });
  assert.equal(d.isEjected('proxy 127.0.10.2:15008'), true);
  assert.equal(d.isEjected('proxy 127.0.10.1:15008'), false);
  // A failure while ejected (a connection that picked it earlier) does not extend the ejection.
  now += 400;
  assert.deepEqual(d.failure('proxy 127.0.10.2:15008'), { ejected: true, forMs: 600 });
  now += 600;
  assert.equal(d.isEjected('proxy 127.0.10.2:15008'), false);
  const lengths: number[] = [];
  for (let i = 0; i < 6; i++) {
    const { forMs } = d.failure('proxy 127.0.10.2:15008');
    lengths.push(forMs);
    now += forMs;
  }
  assert.deepEqual(lengths, [2_000, 4_000, 8_000, OUTLIER_MAX_EJECTION_MS, 10_000, 10_000]);
  d.success('proxy 127.0.10.2:15008');
  assert.equal(d.empty, true);
  assert.deepEqual(d.failure('proxy 127.0.10.2:15008'), { ejected: true, forMs: 1_000 });
});

test('with a threshold of 3, the third failure in a row ejects', () => {
  const d = new OutlierDetector({ consecutiveFailures: 3, now: () => 0 });
  assert.deepEqual(d.failure('e'), { ejected: false, forMs: 0 });
  assert.deepEqual(d.failure('e'), { ejected: false, forMs: 0 });
  assert.equal(d.isEjected('e'), false);
  assert.deepEqual(d.failure('e'), { ejected: true, forMs: 1_000 });
  assert.equal(d.isEjected('e'), true);
});

test('tracked destinations stay bounded: expired ones are forgotten first', () => {
  let now = 0;
  const d = new OutlierDetector({ now: () => now });
  for (let i = 0; i < 4_096; i++) d.failure(`e${i}`);
  now += 2_000;
  d.failure('fresh');
  assert.equal(d.isEjected('fresh'), true);
  // Everything else had expired and was dropped: a new failure of e0 is a first ejection again.
  assert.deepEqual(d.failure('e0'), { ejected: true, forMs: 1_000 });
});

test('the balancer skips named endpoints and keeps rotating over the others; skipped ones keep their place', () => {
  const lb = new RoundRobinBalancer();
  const eps = [endpoint('a'), endpoint('b'), endpoint('c')];
  assert.deepEqual(tally(() => lb.pick('svc', eps), 3).order, ['a', 'b', 'c']);
  const skipB = (e: { workload: { name: string } }) => e.workload.name === 'b';
  assert.deepEqual(tally(() => lb.pick('svc', eps, skipB), 4).order, ['a', 'c', 'a', 'c']);
  assert.equal(lb.pick('svc', eps, () => true), undefined);
  assert.deepEqual(tally(() => lb.pick('svc', eps), 3).counts, { a: 1, b: 1, c: 1 });
});
