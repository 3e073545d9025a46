// The docs test's output comparison: wrong values the guides rely on (endpoint ratios, READY, RESTARTS,
// node names, counts, metric values, byte counts) fail it; what changes from run to run (times, ages,
// durations, pids, pod-name suffixes, serials, paths, source ports, line order where allowed) does not.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { blockOutput, compare, normalize } from '../../integration/docs/guide-blocks.js';

const SERVICES = `NAMESPACE SERVICE NAME SERVICE VIP WAYPOINT ENDPOINTS
default   details      127.2.0.2   None     1/1
default   reviews      127.2.0.5   None     3/3`;

const PODS = `NAME                              READY   STATUS    RESTARTS   AGE
curl-jcc2h289cg-g56rw             1/1     Running   0          14s
reviews-v1-5xl5q8pcbk-vrlb2       1/1     Running   0          14s`;

const WORKLOADS = `NAMESPACE    POD NAME                        IP         NODE   WAYPOINT PROTOCOL
default      curl-jcc2h289cg-g56rw           127.1.0.1  node-1 None     HBONE
default      details-v1-mxk6f7g5tf-l49cg     127.1.0.2  node-2 None     HBONE`;

const PROXY_DUMP = `{
  "proxyID": "ztunnel-node-1.istio-system",
  "connected": true,
  "workloads": 9
}`;

const METRIC = 'istio_tcp_connections_opened_total{reporter="destination",source_workload="waypoint",destination_workload="postgres-v1"} 5';

const ACCESS = [
  '2026-11-22T00:22:36.737630Z\tinfo\taccess\tconnection complete\tsrc.addr=127.0.0.1:44610 src.workload="productpage-v1-4p4q594k47-kfc7q" dst.addr=127.1.0.2:9080 dst.workload="details-v1-mxk6f7g5tf-l49cg" direction="outbound" bytes_sent=91 bytes_recv=306 duration="88ms"',
  '2026-11-22T00:22:36.749164Z\tinfo\taccess\tconnection complete\tsrc.addr=127.1.0.3:44610 src.workload="productpage-v1-4p4q594k47-kfc7q" dst.addr=127.1.0.2:9080 dst.workload="details-v1-mxk6f7g5tf-l49cg" direction="inbound" bytes_sent=306 bytes_recv=91 duration="54ms"',
].join('\n');

test('must fail: ztunnel-config services showing reviews 0/3 where the guide shows 3/3', () => {
  assert.match(compare('masked', SERVICES, SERVICES.replace('3/3', '0/3')) ?? '', /expected: default reviews 127\.2\.0\.5 None 3\/3\n {2}got: {6}default reviews 127\.2\.0\.5 None 0\/3/);
});

test('must fail: get pods with READY 0/1 or RESTARTS 7', () => {
  assert.notEqual(compare('masked', PODS, PODS.replace('1/1     Running   0 ', '0/1     Running   0 ')), undefined);
  assert.notEqual(compare('masked', PODS, PODS.replace('Running   0          14s\nreviews', 'Running   7          14s\nreviews')), undefined);
  assert.notEqual(compare('masked', PODS, PODS.replace(/Running/g, 'CrashLoopBackOff')), undefined);
});

test('must fail: a pod on another node than the guide shows', () => {
  assert.notEqual(compare('masked', WORKLOADS, WORKLOADS.replace('node-2 None', 'node-1 None')), undefined);
});

test('must fail: a pod with another address than the guide shows', () => {
  assert.notEqual(compare('masked', WORKLOADS, WORKLOADS.replace('127.1.0.2 ', '127.1.0.9 ')), undefined);
});

test('must fail: a control-plane config_dump with "workloads": 0', () => {
  assert.notEqual(compare('masked', PROXY_DUMP, PROXY_DUMP.replace('"workloads": 9', '"workloads": 0')), undefined);
});

test('must fail: a metric value of 0 where the guide shows 5', () => {
  assert.notEqual(compare('masked', METRIC, METRIC.replace(/ 5$/, ' 0')), undefined);
  assert.notEqual(compare('masked', METRIC, METRIC.replace('reporter="destination"', 'reporter="source"')), undefined);
});

test('must fail: an access-log line with bytes_sent=0, in every mode that reads logs', () => {
  const broken = ACCESS.replace('bytes_sent=306', 'bytes_sent=0');
  for (const mode of ['masked', 'unordered', 'contains'] as const) assert.match(compare(mode, ACCESS, broken) ?? '', /bytes_sent=306/, mode);
});

test('must fail: missing or extra lines in masked and unordered modes', () => {
  const [first] = SERVICES.split('\n');
  for (const mode of ['masked', 'unordered'] as const) {
    assert.notEqual(compare(mode, SERVICES, first!), undefined, `${mode}: missing lines`);
    assert.notEqual(compare(mode, SERVICES, `${SERVICES}\ndefault   ratings      127.2.0.4   None     1/1`), undefined, `${mode}: an extra line`);
  }
  assert.notEqual(compare('masked', SERVICES, SERVICES.split('\n').reverse().join('\n')), undefined, 'masked keeps the order');
});

test('must fail: contains needs one output line per shown line', () => {
  const twice = `${METRIC}\n${METRIC}`;
  assert.notEqual(compare('contains', twice, METRIC), undefined);
  assert.equal(compare('contains', twice, `other line\n${METRIC}\n${METRIC}`), undefined);
});

test('must fail: exact compares digits and suffixes too', () => {
  assert.notEqual(compare('exact', '      3 reviews-v1', '      2 reviews-v1'), undefined);
  assert.equal(compare('exact', '      3 reviews-v1', '3 reviews-v1  '), undefined);
});

test('must pass: other pod suffixes, ages, column widths', () => {
  const other = `NAME                            READY   STATUS    RESTARTS   AGE
curl-kg4n79v9hx-bc98f           1/1     Running   0          2m5s
reviews-v1-6622vg2pcx-gggkj     1/1     Running   0          9s`;
  assert.equal(compare('masked', PODS, other), undefined);
});

test('must pass: access-log lines with other times, source ports, durations and order (unordered)', () => {
  const other = ACCESS.split('\n')
    .reverse()
    .map((l) => l.replace(/36\.7\d+Z/, '59.123456Z').replace(/:44610/, ':51234').replace(/duration="\d+ms"/, 'duration="1s"'))
    .join('\n');
  assert.equal(compare('unordered', ACCESS, other), undefined);
  assert.equal(compare('contains', ACCESS, `an earlier line\n${other}`), undefined);
  assert.notEqual(compare('masked', ACCESS, other), undefined, 'masked keeps the order');
});

test('must pass: state-dir paths, pids, serials and Prometheus timestamps are masked', () => {
  assert.equal(normalize('Starting the local mesh (state dir /home/you/.local/state/l4mesh)'), 'Starting the local mesh (state dir <path>)');
  assert.equal(normalize('  control-plane      started (pid 26028) ... ready'), 'control-plane started (pid <pid>) ... ready');
  assert.equal(normalize('spiffe://cluster.local/ns/default/sa/curl Leaf Available true 0d786a825e561b826e5e782cea880083 2026-11-23T00:22:18Z'), 'spiffe://cluster.local/ns/default/sa/curl Leaf Available true <hex> <time>');
  assert.equal(normalize('      1795306891.334,'), '<time>,');
  assert.equal(normalize('"5"'), '"5"');
});

test('normalize keeps counts, ratios, node names, label values, byte counts and addresses', () => {
  const line = 'default reviews 127.2.0.5 None 3/3 node-2 reporter="waypoint" bytes_sent=91 "workloads": 9 127.0.10.1:15008 <title>x</title>';
  assert.equal(normalize(line), line);
});

test('must fail: a block that exits 0 but warns or errs on stderr; plain progress on stderr is not output', () => {
  const shown = 'The mesh is down.';
  for (const stderr of ['(node:123) Warning: Setting the TLS ServerName to an IP address is not permitted\n', 'error: still running after SIGKILL: runtime (pid 9)\n', '[DEP0123] DeprecationWarning: x\n']) {
    assert.notEqual(compare('masked', shown, blockOutput(0, `${shown}\n`, stderr)), undefined, stderr);
  }
  assert.equal(compare('masked', shown, blockOutput(0, `${shown}\n`, 'No resources found in default namespace.\n')), undefined);
  assert.match(blockOutput(1, '', 'Error from server (NotFound)\n'), /--- stderr ---\nError from server/);
});
