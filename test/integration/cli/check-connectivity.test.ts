// `l4mesh check connectivity` on a two-node mesh, broken one way at a time: a DENY policy, a service whose
// target port nothing listens on, a service with no endpoints; and the healthy path with real byte counts.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { eventually } from '../../support/mesh.js';
import { denyPrincipalPolicy, waitForReadyPods, withCliMesh } from './cli-fixture.js';

const APP = `apiVersion: v1
kind: Service
metadata: {name: echo}
spec:
  selector: {app: echo}
  ports: [{name: tcp-echo, port: 7000}]
---
apiVersion: v1
kind: Service
metadata: {name: lost}
spec:
  selector: {app: echo}
  ports: [{name: tcp-lost, port: 7100, targetPort: 7009}]
---
apiVersion: v1
kind: Service
metadata: {name: nobody}
spec:
  selector: {app: nobody}
  ports: [{name: tcp, port: 7200}]
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: echo-v1}
spec:
  selector: {matchLabels: {app: echo}}
  template:
    metadata: {labels: {app: echo}}
    spec:
      nodeName: node-2
      containers:
      - name: echo
        image: local/echo
        command: [node, -e, "require('net').createServer((s) => s.pipe(s)).listen(7000, process.env.POD_IP)"]
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: client}
spec:
  selector: {matchLabels: {app: client}}
  template:
    metadata: {labels: {app: client}}
    spec:
      nodeName: node-1
      serviceAccountName: client
      containers: [{name: client, image: local/client, command: [sleep, "3600"]}]
`;

const DENY = denyPrincipalPolicy('deny-client', 'echo', 'cluster.local/ns/default/sa/client');

interface Report {
  ok: boolean;
  port?: number;
  hops: Array<{ step: string; verdict: string; detail: string; cause?: string; next?: string; evidence?: string[] }>;
  trace?: { id: string; decisions: Array<{ proxy: string; direction: string; step: string; verdict: string; facts?: Record<string, unknown> }> };
}

test('check connectivity names the failing hop and its cause; a healthy path is OK end to end', { timeout: 300_000 }, () =>
  withCliMesh(async (mesh) => {
    await writeFile(join(mesh.manifestDir, 'app.yaml'), APP);
    await writeFile(join(mesh.manifestDir, 'deny.yaml'), DENY);
    assert.equal((await mesh.run(['apply', '-f', join(mesh.manifestDir, 'app.yaml')])).code, 0);
    await waitForReadyPods(mesh, 2);

    const check = async (...args: string[]) => {
      const r = await mesh.run(['check', 'connectivity', 'deploy/client', ...args, '-o', 'json'], 60_000);
      return { code: r.code, report: JSON.parse(r.stdout) as Report };
    };
    const steps = (rep: Report) => rep.hops.map((h) => `${h.step}:${h.verdict}`);

    // The healthy path, probed for real: both proxies logged the probe (found by its source port).
    const healthy = await eventually(async () => {
      const r = await check('echo');
      return r.code === 0 ? r : undefined;
    }, 30_000, 'a healthy check once the echo server listens');
    assert.deepEqual(steps(healthy.report), ['capture:OK', 'resolve:OK', 'endpoints:OK', 'waypoint:INFO', 'tunnel:OK', 'policy:OK', 'dial:OK']);
    assert.match(healthy.report.hops[1]!.detail, /^echo → service default\/echo\.default\.svc\.cluster\.local, VIP 127\.\d+\.3\.\d+, port 7000$/);
    assert.match(healthy.report.hops[4]!.detail, /^HBONE node-1 → node-2, CONNECT 127\.\d+\.1\.\d+:7000; peer identity must be spiffe:\/\/cluster\.local\/ns\/default\/sa\/default$/);
    assert.match(healthy.report.hops[6]!.detail, /; access log: node-1 outbound sent=0 recv=0; node-2 inbound sent=0 recv=0$/);
    // The same probe as the proxies recorded it under its trace id: the source's decisions, then the destination's.
    const trace = healthy.report.trace!;
    assert.match(trace.id, /^[0-9a-f]{32}$/);
    assert.deepEqual(trace.decisions.map((d) => `${d.proxy} ${d.direction} ${d.step}:${d.verdict}`), [
      'node-1 outbound capture:OK', 'node-1 outbound resolve:OK', 'node-1 outbound endpoints:OK', 'node-1 outbound tunnel:OK', 'node-1 outbound dial:OK', 'node-1 outbound bytes:OK',
      'node-2 inbound tunnel:OK', 'node-2 inbound policy:OK', 'node-2 inbound dial:OK', 'node-2 inbound bytes:OK',
    ]);
    assert.deepEqual(trace.decisions.filter((d) => d.step === 'bytes').map((d) => [d.facts!['received'], d.facts!['sent']]), [[0, 0], [0, 0]]);
    assert.match(healthy.report.hops[0]!.evidence![0]!, /^node-1 outbound: local-mode outbound listener 127\.\d+\.\d+\.\d+:7000 on node-1: source default\/client-\S+ \(spiffe:\/\/cluster\.local\/ns\/default\/sa\/client\)$/);
    assert.match(healthy.report.hops[2]!.evidence![0]!, /^node-1 outbound: round robin chose default\/echo-v1-\S+ 127\.\d+\.1\.\d+:7000 of 1 healthy$/);
    assert.match(healthy.report.hops[5]!.evidence![0]!, /^node-2 inbound: allowed for default\/echo-v1-\S+: no ALLOW policies apply \(source spiffe:\/\/cluster\.local\/ns\/default\/sa\/client\)$/);
    // A second probe rides the HBONE connection the first one opened (the pool keeps it 5 minutes).
    const again = await check('echo');
    assert.equal(again.code, 0);
    assert.match(again.report.hops[4]!.evidence![0]!, /^node-1 outbound: HBONE to node-2 \(127\.\d+\.0\.2:15008\), reused connection \(stream \d+\), peer identity spiffe:\/\/cluster\.local\/ns\/default\/sa\/default verified when the connection was opened$/);

    // Denied: configuration names the policy, the destination's access line confirms it.
    assert.equal((await mesh.run(['apply', '-f', join(mesh.manifestDir, 'deny.yaml')])).code, 0);
    // The policy reaches the two node proxies at their own pace: wait until the probe's evidence is in.
    const denied = await eventually(async () => {
      const r = await check('echo');
      return r.code === 1 && r.report.hops[5]?.detail.includes('access log') ? r : undefined;
    }, 60_000, 'the DENY policy pushed to both node proxies');
    assert.deepEqual(steps(denied.report), ['capture:OK', 'resolve:OK', 'endpoints:OK', 'waypoint:INFO', 'tunnel:OK', 'policy:FAIL']);
    const policy = denied.report.hops[5]!;
    assert.equal(policy.cause, 'denied by AuthorizationPolicy default/deny-client rule 0: source principal cluster.local/ns/default/sa/client (matched DENY policy default/deny-client)');
    assert.equal(policy.next, 'l4mesh ztunnel-config policies; l4mesh get authorizationpolicy deny-client -n default -o yaml');
    assert.match(policy.detail, /node-2's access log: error="connection denied by authorization policy default\/deny-client: matched DENY policy default\/deny-client"$/);
    const dry = await check('echo', '--dry-run');
    assert.deepEqual([dry.code, steps(dry.report)], [1, ['capture:OK', 'resolve:OK', 'endpoints:OK', 'waypoint:INFO', 'tunnel:OK', 'policy:FAIL']]);
    assert.doesNotMatch(dry.report.hops[5]!.detail, /access log/);
    assert.equal((await mesh.run(['delete', '-f', join(mesh.manifestDir, 'deny.yaml')])).code, 0);

    // Nothing listens on the target port: configuration looks fine, the probe finds the refused dial.
    const lost = await eventually(async () => {
      const r = await check('lost');
      return r.report.hops.some((h) => h.step === 'dial' && h.verdict === 'FAIL') ? r : undefined;
    }, 30_000, 'the refused dial');
    assert.equal(lost.code, 1);
    assert.deepEqual(steps(lost.report), ['capture:OK', 'resolve:OK', 'endpoints:OK', 'waypoint:INFO', 'tunnel:OK', 'policy:OK', 'dial:FAIL'], JSON.stringify(lost.report, null, 2));
    assert.match(lost.report.hops[6]!.detail, /^node-2's node proxy: error="cannot connect to 127\.\d+\.1\.\d+:7009: ECONNREFUSED/);
    assert.equal(lost.report.hops[6]!.cause, "nothing listens on the workload's port: the process is down or listens on another port");

    // No endpoints: the failing hop, its cause and where to look, in the table a person reads.
    const nobody = await mesh.run(['check', 'connectivity', 'deploy/client', 'nobody']);
    assert.equal(nobody.code, 1);
    const lines = nobody.stdout.trimEnd().split('\n');
    assert.deepEqual(lines.slice(3).map((l) => l.replace(/\s+/g, ' ')), [
      'ENDPOINTS FAIL service default/nobody.default.svc.cluster.local port 7200: 0 healthy endpoints; node-1\'s access log: error="no healthy upstream"',
      ' cause: no workload backs default/nobody.default.svc.cluster.local: its selector matches no running pod',
      ' more: l4mesh ztunnel-config services; l4mesh get pods -n default; l4mesh analyze -n default',
      'connectivity FAILED',
    ]);
  }));
