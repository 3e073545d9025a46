// The probe and its evidence: the port it reports even when reset at once, an HTTP probe's bytes, which
// access-log lines belong to it, and what an `error=` string means.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createServer, type AddressInfo } from 'node:net';
import type { OutboundMapping } from '../../../src/dataplane/capture/capture.js';
import { accessLines, freeLocalPort, hopOfError, httpProbeRequest, LOG_CLOCK_SLACK_MS, parseLogFields, probe, PROBE_LOCAL_ADDRESS } from '../../../src/connectivity/probe.js';
import { formatTimestamp } from '../../../src/dataplane/telemetry/access-log.js';

const line = (atMs: number, port: number, extra = '') =>
  `${formatTimestamp(atMs)}\tinfo\taccess\tconnection complete\tsrc.addr=127.0.0.1:${port} src.workload="client" direction="outbound"${extra}`;

test('lines of the probe are found by source port, within the clock slack before the start and not earlier', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'l4m-probe-'));
  try {
    const since = Date.parse('2026-11-29T15:00:00.000Z');
    const file = join(dir, 'node-1.log');
    await writeFile(file, [
      line(since - LOG_CLOCK_SLACK_MS - 1, 40000), // older than the slack: a previous connection
      line(since - 12, 40000, ' error="no healthy upstream"'), // a proxy clock 12 ms behind the CLI's
      line(since + 5, 40002), // another connection
      '2026-11-29T15:00:00.100Z\tinfo\taccess\tconnection opened\tsrc.addr=127.0.0.1:40000',
    ].join('\n'));
    const found = await accessLines([{ node: 'node-1', file }], since, (f) => f['src.workload'] === 'client' && f['src.addr'] === '127.0.0.1:40000');
    assert.deepEqual(found.map((l) => [l.node, l.fields['error']]), [['node-1', 'no healthy upstream']]);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('quoted values keep escaped quotes; errors map to the hop they belong to', () => {
  assert.deepEqual(parseLogFields('a=1 b="x \\"y\\"" c.d=z'), { a: '1', b: 'x "y"', 'c.d': 'z' });
  assert.equal(hopOfError('no healthy upstream').step, 'endpoints');
  assert.equal(hopOfError('connection denied by authorization policy default/x').step, 'policy');
  assert.equal(hopOfError('cannot connect to 127.0.0.1:7009: ECONNREFUSED').step, 'dial');
  assert.equal(hopOfError('deadline has elapsed').step, 'tunnel');
});

test('a probe reset before its connect event still reports the port it was bound to (the proxies log that port)', async () => {
  const server = createServer((s) => s.resetAndDestroy());
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const mapping = { listenAddress: '127.0.0.1', listenPort: (server.address() as AddressInfo).port } as OutboundMapping;
  try {
    for (let i = 0; i < 30; i++) {
      const localPort = await freeLocalPort();
      const r = await probe(mapping, { localAddress: PROBE_LOCAL_ADDRESS, localPort });
      assert.deepEqual([r.outcome, r.localPort, r.bytesSent, r.bytesReceived], ['reset', localPort, 0, 0]);
    }
  } finally {
    await new Promise((r) => server.close(r));
  }
});

test('an HTTP probe sends its request and reports the status line of the answer', async () => {
  const request = httpProbeRequest('ratings.default.svc.cluster.local');
  assert.equal(request, 'GET / HTTP/1.1\r\nhost: ratings.default.svc.cluster.local\r\nuser-agent: l4mesh-check\r\nconnection: close\r\n\r\n');
  let received = '';
  const answer = 'HTTP/1.1 404 Not Found\r\ncontent-length: 0\r\nconnection: close\r\n\r\n';
  const server = createServer((s) => {
    s.on('data', (b: Buffer) => {
      received += b.toString('latin1');
      if (received.endsWith('\r\n\r\n')) s.end(answer);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  try {
    const r = await probe({ listenAddress: '127.0.0.1', listenPort: (server.address() as AddressInfo).port } as OutboundMapping, { payload: request });
    assert.deepEqual([r.outcome, r.bytesSent, r.bytesReceived, r.firstLine, received], ['answered', request.length, answer.length, 'HTTP/1.1 404 Not Found', request]);
  } finally {
    await new Promise((r) => server.close(r));
  }
});
