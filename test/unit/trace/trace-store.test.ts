// The trace store behind /debug/trace: bounded (traces in a ring, decisions per trace, armed addresses),
// exact records in the order made, arming claimed once, and W3C traceparent parsing.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { newTraceparent } from '../../../src/dataplane/hbone/headers.js';
import {
  ARM_TTL_MS,
  isSampledTraceparent,
  parseTraceparent,
  sampledTraceparent,
  TraceStore,
  type TraceDecision,
} from '../../../src/dataplane/trace/trace-store.js';

const ID = (n: number) => n.toString(16).padStart(32, '0');
const withoutTimes = (ds: readonly TraceDecision[]) => ds.map(({ atMs, ...d }) => (assert.equal(typeof atMs, 'number'), d));

test('a trace keeps its decisions in order, exactly as recorded, with the proxy and direction of the recorder', () => {
  const store = new TraceStore();
  const out = store.recorder(ID(1), 'node-1', 'outbound');
  const inb = store.recorder(ID(1), 'node-1', 'inbound');
  out.record({ step: 'capture', verdict: 'OK', detail: 'listener 127.65.0.2:9080', facts: { mode: 'local' } });
  inb.record({ step: 'policy', verdict: 'FAIL', detail: 'denied by default/deny rule 1', facts: { policy: 'default/deny', rule: 1 } });
  out.record({ step: 'bytes', verdict: 'OK', detail: 'closed', facts: { received: 90, sent: 1625 } });
  const trace = store.get(ID(1))!;
  assert.equal(trace.id, ID(1));
  assert.equal(trace.dropped, 0);
  assert.deepEqual(withoutTimes(trace.decisions), [
    { proxy: 'node-1', direction: 'outbound', step: 'capture', verdict: 'OK', detail: 'listener 127.65.0.2:9080', facts: { mode: 'local' } },
    { proxy: 'node-1', direction: 'inbound', step: 'policy', verdict: 'FAIL', detail: 'denied by default/deny rule 1', facts: { policy: 'default/deny', rule: 1 } },
    { proxy: 'node-1', direction: 'outbound', step: 'bytes', verdict: 'OK', detail: 'closed', facts: { received: 90, sent: 1625 } },
  ]);
  // The next hop gets a sampled traceparent continuing the same trace id with a span of its own.
  assert.match(out.traceparent, new RegExp(`^00-${ID(1)}-[0-9a-f]{16}-01$`));
  assert.notEqual(out.traceparent, inb.traceparent);
  // A copy: the caller cannot change what the store holds.
  trace.decisions.pop();
  assert.equal(store.get(ID(1))!.decisions.length, 3);
});

test('the ring keeps the last N traces; a trace keeps at most M decisions and counts the rest', () => {
  const store = new TraceStore(3, 2);
  for (let i = 1; i <= 5; i++) store.recorder(ID(i), 'node-1', 'outbound').record({ step: 'capture', verdict: 'OK', detail: `c${i}` });
  assert.deepEqual(store.ids(), [ID(3), ID(4), ID(5)]);
  assert.equal(store.get(ID(1)), undefined);
  assert.equal(store.get(ID(2)), undefined);
  const r = store.recorder(ID(5), 'node-2', 'inbound');
  r.record({ step: 'policy', verdict: 'OK', detail: 'allowed' });
  r.record({ step: 'dial', verdict: 'OK', detail: 'connected' });
  r.record({ step: 'bytes', verdict: 'OK', detail: 'closed' });
  const five = store.get(ID(5))!;
  assert.deepEqual([five.decisions.map((d) => d.detail), five.dropped], [['c5', 'allowed'], 2]);
  // Recording into a held trace does not evict anything.
  assert.deepEqual(store.ids(), [ID(3), ID(4), ID(5)]);
});

test('an armed client address is claimed once, expires after ARM_TTL_MS, and at most K wait', () => {
  const store = new TraceStore(8, 8, 2);
  const now = 1_000_000;
  assert.equal(store.claim('127.0.0.1:40000', now), undefined);
  store.arm('127.0.0.1:40000', ID(7), now);
  assert.equal(store.claim('127.0.0.1:40001', now), undefined);
  assert.equal(store.claim('127.0.0.1:40000', now + 1), ID(7));
  assert.equal(store.claim('127.0.0.1:40000', now + 2), undefined);

  store.arm('127.0.0.1:40002', ID(8), now);
  assert.equal(store.claim('127.0.0.1:40002', now + ARM_TTL_MS), undefined);

  store.arm('127.0.0.1:1', ID(1), now);
  store.arm('127.0.0.1:2', ID(2), now);
  store.arm('127.0.0.1:3', ID(3), now);
  assert.deepEqual(['127.0.0.1:1', '127.0.0.1:2', '127.0.0.1:3'].map((c) => store.claim(c, now)), [undefined, ID(2), ID(3)]);
});

test('traceparent: sampled flag, malformed and all-zero ids refused; ordinary connections are not sampled', () => {
  assert.deepEqual(parseTraceparent(`00-${'ab'.repeat(16)}-${'cd'.repeat(8)}-01`), { traceId: 'ab'.repeat(16), spanId: 'cd'.repeat(8), sampled: true });
  assert.deepEqual(parseTraceparent(`00-${'ab'.repeat(16)}-${'cd'.repeat(8)}-00`), { traceId: 'ab'.repeat(16), spanId: 'cd'.repeat(8), sampled: false });
  assert.equal(parseTraceparent(`00-${'0'.repeat(32)}-${'cd'.repeat(8)}-01`), undefined);
  assert.equal(parseTraceparent(`00-${'ab'.repeat(16)}-${'0'.repeat(16)}-01`), undefined);
  assert.equal(parseTraceparent(`01-${'ab'.repeat(16)}-${'cd'.repeat(8)}-01`), undefined);
  assert.equal(parseTraceparent(['x', 'y']), undefined);
  assert.equal(parseTraceparent(undefined), undefined);
  assert.equal(isSampledTraceparent(sampledTraceparent('ab'.repeat(16))), true);
  assert.equal(isSampledTraceparent(newTraceparent()), false);
  assert.equal(isSampledTraceparent(`00-${'ab'.repeat(16)}-${'cd'.repeat(8)}-03`), true);
});
