// The local runtime in sidecar mode: a Deployment whose pod template is labelled sidecar.istio.io/inject
// "true" runs an `l4mesh sidecar` on its pod IP before its container; a sidecar client then reaches a
// sidecar server through its own outbound listener (env from the sidecar's /capture), and the server's
// sidecar reports the connection with the client's labels.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { eventually } from '../../support/mesh.js';
import { select } from '../../support/prometheus-text.js';
import { cliMesh } from '../cli/cli-fixture.js';
import { labelObject, scrapeAt } from './sidecar-mesh.js';

const NODE = process.execPath;

function manifests(): string {
  const server = `require('net').createServer((s) => { s.write('pong from ' + process.env.POD_NAME.split('-')[0] + '\\n'); s.pipe(s); }).listen(7000, process.env.POD_IP)`;
  // The echo pod may start after the client: retry (bounded) until one exchange has worked.
  const client = `let tries = 0; const attempt = () => { let got = false; const c = require('net').connect(+process.env.ECHO_SERVICE_PORT, process.env.ECHO_SERVICE_HOST); c.on('data', (d) => { got = true; process.stdout.write('got ' + d); }); c.on('error', () => {}); c.on('close', () => { if (!got && ++tries < 150) setTimeout(attempt, 200); }); c.end('ping\\n'); }; attempt(); setInterval(() => {}, 1 << 30)`;
  const deployment = (name: string, app: string, script: string) => `apiVersion: apps/v1
kind: Deployment
metadata:
  name: ${name}
spec:
  replicas: 1
  selector:
    matchLabels:
      app: ${app}
  template:
    metadata:
      labels:
        app: ${app}
        version: v1
        sidecar.istio.io/inject: "true"
    spec:
      containers:
      - name: ${app}
        image: local/${app}
        command: [${JSON.stringify(NODE)}, "-e", ${JSON.stringify(script)}]
---
`;
  return `apiVersion: v1
kind: Service
metadata:
  name: echo
spec:
  selector:
    app: echo
  ports:
  - name: tcp-echo
    port: 7000
---
${deployment('echo', 'echo', server)}${deployment('client', 'client', client)}`;
}

test('local runtime: sidecar pods get their own proxy; sidecar → sidecar through the app\'s env', { timeout: 240_000 }, async () => {
  const mesh = await cliMesh();
  try {
    const up = await mesh.run(['up', '--nodes', '2']);
    assert.equal(up.code, 0, up.stdout + up.stderr);
    const file = join(mesh.manifestDir, 'sidecars.yaml');
    await writeFile(file, manifests());
    const applied = await mesh.run(['apply', '-f', file]);
    assert.equal(applied.code, 0, applied.stderr);

    const logs = await eventually(async () => {
      const r = await mesh.run(['logs', 'deploy/client']);
      // The greeting and the echoed ping may arrive in one chunk or two.
      return /pong from echo\n(got )?ping\n/.test(r.stdout) ? r.stdout : undefined;
    }, 60_000, 'the client\'s echo through the sidecars');
    assert.match(logs, /got pong from echo\n(got )?ping\n/);

    const pods = JSON.parse((await mesh.run(['get', 'pods', '-o', 'json'])).stdout) as { items: Array<{ metadata: { name: string }; status: { podIP: string } }> };
    const echoIp = pods.items.find((p) => p.metadata.name.startsWith('echo-'))!.status.podIP;
    const opened = await eventually(async () => {
      const s = select(await scrapeAt(echoIp), 'istio_tcp_connections_opened_total', { reporter: 'destination' });
      return s.length === 1 ? s[0] : undefined;
    }, 20_000, 'the server sidecar\'s report');
    const labels = labelObject(opened!);
    assert.deepEqual([labels['source_workload'], labels['destination_workload'], labels['connection_security_policy']], ['client', 'echo', 'mutual_tls']);
  } finally {
    await mesh.run(['down']).catch(() => undefined);
    await mesh.cleanup();
  }
});
