// The probe and its evidence: the port it reports even when reset at once, an HTTP probe's bytes, the
// proxy's answer to a plaintext CONNECT kept apart from the workload's bytes, which
// access-log lines belong to it, and what an `error=` string means.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createServer, type AddressInfo } from 'node:net';
import { accessLines, freeLocalPort, hopOfError, httpProbeRequest, LOG_CLOCK_SLACK_MS, parseLogFields, plaintextConnectPreamble, probe, PROBE_LOCAL_ADDRESS } from '../../../src/connectivity/probe.js';
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
  const target = { host: '127.0.0.1', port: (server.address() as AddressInfo).port };
  try {
    for (let i = 0; i < 30; i++) {
      const localPort = await freeLocalPort();
      const r = await probe(target, { localAddress: PROBE_LOCAL_ADDRESS, localPort });
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
    const r = await probe({ host: '127.0.0.1', port: (server.address() as AddressInfo).port }, { payload: request });
    assert.deepEqual([r.outcome, r.bytesSent, r.bytesReceived, r.firstLine, received], ['answered', request.length, answer.length, 'HTTP/1.1 404 Not Found', request]);
  } finally {
    await new Promise((r) => server.close(r));
  }
});

/** A stand-in for a node proxy's INBOUND_PORT: reads the CONNECT head, answers `status`, then echoes an answer when 200. */
async function connectServer(status: string, answer: string): Promise<{ port: number; heads: string[]; close(): Promise<unknown> }> {
  const heads: string[] = [];
  const server = createServer((s) => {
    let got = '';
    s.on('data', (b: Buffer) => {
      got += b.toString('latin1');
      const parts = got.split('\r\n\r\n');
      if (parts.length < 3) return;
      heads.push(parts[0]!, parts[1]!);
      if (status !== '200 Connection Established') return void s.end(`HTTP/1.1 ${status}\r\ncontent-length: 0\r\n\r\n`);
      s.end(`HTTP/1.1 ${status}\r\n\r\n${answer}`);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { port: (server.address() as AddressInfo).port, heads, close: () => new Promise((r) => server.close(r)) };
}

test('a plaintext probe sends CONNECT first; the proxy\'s answer is reported apart from the workload\'s bytes', async () => {
  const preamble = plaintextConnectPreamble('127.0.6.4', 9080);
  assert.equal(preamble, 'CONNECT 127.0.6.4:9080 HTTP/1.1\r\nhost: 127.0.6.4:9080\r\n\r\n');
  const request = httpProbeRequest('productpage.default.svc.cluster.local');
  const answer = 'HTTP/1.1 200 OK\r\ncontent-length: 2\r\nconnection: close\r\n\r\nok';
  const open = await connectServer('200 Connection Established', answer);
  try {
    const r = await probe({ host: '127.0.0.1', port: open.port }, { preamble, payload: request });
    assert.deepEqual([r.outcome, r.proxyAnswer, r.bytesSent, r.bytesReceived, r.firstLine], ['answered', 'HTTP/1.1 200 Connection Established', request.length, answer.length, 'HTTP/1.1 200 OK']);
    assert.deepEqual(open.heads, ['CONNECT 127.0.6.4:9080 HTTP/1.1\r\nhost: 127.0.6.4:9080', request.slice(0, -4)]);
  } finally {
    await open.close();
  }
  const refused = await connectServer('401 Unauthorized', '');
  try {
    const r = await probe({ host: '127.0.0.1', port: refused.port }, { preamble, payload: request });
    assert.deepEqual([r.outcome, r.proxyAnswer, r.bytesReceived, r.firstLine], ['closed', 'HTTP/1.1 401 Unauthorized', 0, undefined]);
  } finally {
    await refused.close();
  }
});
