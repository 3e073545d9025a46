// Folding the evidence into the configured path: trace records in path order (source, waypoint, destination),
// evidence per hop, a failed decision failing its hop, and when the trace is complete enough to stop waiting.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { PathReport } from '../../../src/connectivity/path.js';
import { findingsFor, pathDecisions, traceComplete, withTrace } from '../../../src/connectivity/evidence.js';
import type { Finding } from '../../../src/analysis/messages.js';
import type { TraceDecision, TraceRecord } from '../../../src/dataplane/trace/trace-store.js';

const ID = 'cd'.repeat(16);
const d = (proxy: string, direction: TraceDecision['direction'], step: TraceDecision['step'], verdict: TraceDecision['verdict'], detail: string, facts?: TraceDecision['facts']): TraceDecision => ({
  proxy, direction, step, verdict, detail, atMs: 0, ...(facts ? { facts } : {}),
});
const record = (decisions: TraceDecision[]): TraceRecord => ({ id: ID, startedAt: '2026-11-29T16:00:00.000Z', decisions, dropped: 0 });

const configured: PathReport = {
  source: 'Kubernetes//Pod/default/curl', target: 'ratings', ok: true, port: 9080,
  hops: [
    { step: 'capture', verdict: 'OK', detail: 'c' }, { step: 'resolve', verdict: 'OK', detail: 'r' }, { step: 'endpoints', verdict: 'OK', detail: 'e' },
    { step: 'waypoint', verdict: 'INFO', detail: 'w' }, { step: 'tunnel', verdict: 'OK', detail: 't' }, { step: 'policy', verdict: 'OK', detail: 'p' }, { step: 'dial', verdict: 'OK', detail: 'd' },
  ],
};

test('decisions are ordered source, waypoint, destination, and each is evidence on its hop; bytes go to the dial', () => {
  const inbound = record([d('node-2', 'inbound', 'tunnel', 'OK', 'accepted'), d('node-2', 'inbound', 'policy', 'OK', 'allowed'), d('node-2', 'inbound', 'bytes', 'OK', '0 and 0')]);
  const outbound = record([d('node-1', 'outbound', 'capture', 'OK', 'listener'), d('node-1', 'outbound', 'tunnel', 'OK', 'new connection', { via: 'hbone' }), d('node-1', 'outbound', 'bytes', 'OK', '5 and 7')]);
  const decisions = pathDecisions([inbound, outbound]);
  assert.deepEqual(decisions.map((x) => `${x.proxy} ${x.step}`), ['node-1 capture', 'node-1 tunnel', 'node-1 bytes', 'node-2 tunnel', 'node-2 policy', 'node-2 bytes']);
  assert.equal(traceComplete(decisions), true);
  const r = withTrace(configured, ID, decisions);
  assert.equal(r.ok, true);
  assert.deepEqual(r.hops.map((h) => [h.step, h.verdict, h.evidence ?? []]), [
    ['capture', 'OK', ['node-1 outbound: listener']],
    ['resolve', 'OK', []],
    ['endpoints', 'OK', []],
    ['waypoint', 'INFO', []],
    ['tunnel', 'OK', ['node-1 outbound: new connection', 'node-2 inbound: accepted']],
    ['policy', 'OK', ['node-2 inbound: allowed']],
    ['dial', 'OK', ['node-1 outbound: 5 and 7', 'node-2 inbound: 0 and 0']],
  ]);
  assert.deepEqual(r.trace, { id: ID, decisions });
  assert.equal(configured.hops[0]!.evidence, undefined);
});

test('a failed decision fails its hop with a cause; a hop configuration already failed keeps its own', () => {
  const denied = [d('node-1', 'outbound', 'tunnel', 'OK', 'reused connection', { via: 'hbone' }), d('node-1', 'outbound', 'policy', 'FAIL', 'denied by the destination (HTTP 401)'), d('node-2', 'inbound', 'policy', 'FAIL', 'denied by default/deny rule 0')];
  const r = withTrace(configured, ID, denied);
  const policy = r.hops.find((h) => h.step === 'policy')!;
  assert.deepEqual([r.ok, policy.verdict, policy.cause, policy.next], [false, 'FAIL', "the destination's authorization policy refused the connection (the error names the policy)", 'l4mesh logs ztunnel --node node-1']);
  assert.deepEqual(policy.evidence, ['node-1 outbound: denied by the destination (HTTP 401)', 'node-2 inbound: denied by default/deny rule 0']);

  const failedConfig: PathReport = { ...configured, ok: false, hops: configured.hops.map((h) => (h.step === 'policy' ? { ...h, verdict: 'FAIL', cause: 'from configuration' } : h)) };
  const again = withTrace(failedConfig, ID, denied).hops.find((h) => h.step === 'policy')!;
  assert.equal(again.cause, 'from configuration');
});

test('the trace is complete once the source ended and, after an HBONE tunnel, the far end ended too', () => {
  const tunnel = d('node-1', 'outbound', 'tunnel', 'OK', 't', { via: 'hbone' });
  assert.equal(traceComplete([]), false);
  assert.equal(traceComplete([tunnel]), false);
  assert.equal(traceComplete([tunnel, d('node-1', 'outbound', 'bytes', 'OK', 'b')]), false);
  assert.equal(traceComplete([tunnel, d('node-1', 'outbound', 'bytes', 'OK', 'b'), d('node-2', 'inbound', 'dial', 'FAIL', 'refused')]), true);
  assert.equal(traceComplete([tunnel, d('node-1', 'outbound', 'bytes', 'OK', 'b'), d('waypoint default/waypoint', 'waypoint', 'bytes', 'OK', 'b')]), true);
  // No tunnel (no endpoint): the source's failure is the whole story.
  assert.equal(traceComplete([d('node-1', 'outbound', 'endpoints', 'FAIL', 'no healthy endpoint')]), true);
});

test('findings bear on a service by its own name, its host\'s first label or its FQDN, in its namespace only', () => {
  const f = (code: string, kind: string, namespace: string, name: string, message: string): Finding => ({ code, name: code, level: 'Warning', resource: { kind, namespace, name }, message, fix: 'x' });
  const findings = [
    f('L4M0004', 'ServiceEntry', 'shop', 'external-db', 'the entry selects no workload'),
    f('IST0101', 'VirtualService', 'shop', 'routes', 'route to host db has no subset v2'),
    f('IST0101', 'VirtualService', 'shop', 'fqdn', 'route to db.corp.example is missing'),
    f('IST0101', 'VirtualService', 'shop', 'other', 'route to host dbx has no subset v2'),
    f('L4M0004', 'ServiceEntry', 'elsewhere', 'external-db', 'the entry selects no workload'),
    f('IST0118', 'Service', 'shop', 'external-db', 'a code that explains no hop'),
  ];
  const got = findingsFor(findings, { name: 'external-db', hostname: 'db.corp.example', namespace: 'shop' }).map((x) => `${x.resource.namespace}/${x.resource.name}`);
  assert.deepEqual(got, ['shop/external-db', 'shop/routes', 'shop/fqdn']);
});
