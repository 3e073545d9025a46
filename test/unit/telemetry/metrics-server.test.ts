import { test } from 'node:test';
import assert from 'node:assert/strict';
import { request } from 'node:http';
import { Registry } from 'prom-client';
import { tcpLabels } from '../../../src/dataplane/telemetry/labels.js';
import { TcpMetrics } from '../../../src/dataplane/telemetry/metrics.js';
import { negotiateFormat, startMetricsServer } from '../../../src/dataplane/telemetry/metrics-server.js';

function get(port: number, path: string, headers: Record<string, string> = {}, method = 'GET'): Promise<{ status: number; type: string; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, method, headers, agent: false }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode!, type: String(res.headers['content-type']), body }));
    });
    req.setTimeout(5000, () => req.destroy(new Error('timeout')));
    req.on('error', reject);
    req.end();
  });
}

const PROM_OPENMETRICS_ACCEPT =
  'application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1';

test('negotiateFormat picks OpenMetrics only when asked', () => {
  assert.equal(negotiateFormat(undefined), 'prometheus');
  assert.equal(negotiateFormat('text/plain;version=0.0.4'), 'prometheus');
  assert.equal(negotiateFormat(PROM_OPENMETRICS_ACCEPT), 'openmetrics');
});

test('metrics server: Prometheus text by default, OpenMetrics on request, 404 elsewhere', async () => {
  const registry = new Registry();
  const metrics = new TcpMetrics(registry);
  metrics.bind(tcpLabels({ reporter: 'source', securityPolicy: 'unknown' })).add('opened', 3);
  const server = await startMetricsServer({
    host: '127.0.0.1',
    port: 0,
    registry,
    extraRoutes: { '/healthz/ready': (_req, res) => res.writeHead(200).end('ready') },
  });
  try {
    const line = (body: string) => body.split('\n').find((l) => l.startsWith('istio_tcp_connections_opened_total{'));
    for (const path of ['/metrics', '/stats/prometheus']) {
      const r = await get(server.port, path);
      assert.equal(r.status, 200);
      assert.equal(r.type, 'text/plain; version=0.0.4; charset=utf-8');
      assert.ok(r.body.includes('# TYPE istio_tcp_connections_opened_total counter\n'));
      assert.match(line(r.body)!, /^istio_tcp_connections_opened_total\{reporter="source",source_workload="unknown",.*,connection_security_policy="unknown"\} 3$/);
      assert.ok(!r.body.includes('# EOF'));
    }
    const om = await get(server.port, '/stats/prometheus', { accept: PROM_OPENMETRICS_ACCEPT });
    assert.equal(om.status, 200);
    assert.equal(om.type, 'application/openmetrics-text; version=1.0.0; charset=utf-8');
    assert.ok(om.body.endsWith('\n# EOF\n'));
    assert.ok(om.body.includes('# TYPE istio_tcp_connections_opened counter\n'));
    assert.match(line(om.body)!, / 3$/);
    // And plain text again afterwards: the OpenMetrics render changed nothing.
    const again = await get(server.port, '/metrics');
    assert.ok(again.body.includes('# TYPE istio_tcp_connections_opened_total counter\n'));

    assert.equal((await get(server.port, '/nope')).status, 404);
    assert.equal((await get(server.port, '/metrics', {}, 'POST')).status, 405);
    const ready = await get(server.port, '/healthz/ready');
    assert.deepEqual([ready.status, ready.body], [200, 'ready']);
  } finally {
    await server.close();
  }
});

test('a port in use is reported as L4MESH_ERR_CONFIG naming the address', async () => {
  const first = await startMetricsServer({ host: '127.0.0.1', port: 0, registry: new Registry() });
  try {
    await assert.rejects(startMetricsServer({ host: '127.0.0.1', port: first.port, registry: new Registry() }), {
      code: 'L4MESH_ERR_CONFIG',
      message: new RegExp(`^cannot serve metrics on 127\\.0\\.0\\.1:${first.port}: EADDRINUSE`),
    });
  } finally {
    await first.close();
  }
});
