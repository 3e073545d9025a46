// The shared proxy lifecycle's stop: listeners stopped in order, tunnels given the drain, and the access
// log written out before stop() resolves (the sidecar used to return before its access log was closed).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Logger } from '../../../src/logging/logger.js';
import { proxyCommonConfig } from '../../../src/dataplane/proxy/proxy-options.js';
import { ProxyRuntime } from '../../../src/dataplane/proxy/proxy-runtime.js';
import { createTestCa } from '../../support/test-pki.js';

/** This test's own loopback address: the runtime binds metrics, readiness and admin on it. */
const ADDRESS = '127.215.31.1';
/** Nothing listens here: xDS keeps retrying in the background, which stop() ends. */
const NO_CONTROL_PLANE = '127.215.31.2:15012';

async function runtimeIn(dir: string, lines: string[]): Promise<ProxyRuntime> {
  const ca = await createTestCa();
  await writeFile(join(dir, 'node-1.token'), 'test-token\n');
  await writeFile(join(dir, 'root-cert.pem'), ca.rootPem);
  const common = proxyCommonConfig(
    { 'state-dir': dir, 'control-plane': NO_CONTROL_PLANE, 'token-file': join(dir, 'node-1.token'), 'root-cert': join(dir, 'root-cert.pem'), 'drain-duration': '2s' },
    'node-1',
    {},
  );
  return new ProxyRuntime({
    config: { ...common, node: 'node-1', address: ADDRESS },
    nodeId: 'test~127.215.31.1~runtime.default~default.svc.cluster.local',
    proxyName: 'runtime-test',
    log: new Logger('test', 'info', (line) => lines.push(line)),
    onCertificate: () => {},
    localWorkloads: () => [],
  });
}

test('stop(): listeners in order, tunnels closed after the drain, access log on disk when stop resolves', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'l4mesh-runtime-'));
  const lines: string[] = [];
  const events: string[] = [];
  const runtime = await runtimeIn(dir, lines);
  try {
    await runtime.link();
    await runtime.serve({
      ready: () => true,
      configDump: () => ({}),
      listeners: [
        {
          stopAccepting: async () => {
            events.push('capture: stop accepting');
            await new Promise((resolve) => setImmediate(resolve));
            events.push('capture: stopped');
          },
        },
        {
          close: async (drainMs) => {
            events.push(`hbone: close with ${drainMs} ms grace`);
          },
        },
      ],
      closeLogs: async () => {
        events.push('role logs closed');
      },
      quit: () => {},
    });
    runtime.telemetry.reporter.failed(
      { reporter: 'source', securityPolicy: 'unknown', srcAddr: '127.215.31.9:40000', dstAddr: '127.215.31.10:9080' },
      'UF',
      Date.now(),
      'upstream refused',
    );
    // Unready although the role is, and no control plane answered: xDS never synced.
    assert.equal(runtime.ready(), false);
    // The file's close completes on a later turn (as a slow disk's would): stop() must wait for it.
    const { accessLog } = runtime.telemetry;
    const closeAccessLog = accessLog.close.bind(accessLog);
    accessLog.close = async () => {
      await closeAccessLog();
      await new Promise((resolve) => setTimeout(resolve, 50));
      events.push('access log closed');
    };

    await runtime.stop();

    assert.deepEqual(events, ['capture: stop accepting', 'capture: stopped', 'hbone: close with 2000 ms grace', 'role logs closed', 'access log closed']);
    const log = await readFile(runtime.telemetry.accessLogFile, 'utf8');
    assert.equal(runtime.telemetry.accessLogFile, join(dir, 'logs', 'runtime-test.access.log'));
    assert.equal(log.split('\n').filter(Boolean).length, 1);
    assert.match(log, /src\.addr=127\.215\.31\.9:40000 .*dst\.addr=127\.215\.31\.10:9080 /);
    assert.match(log, /error="upstream refused"/);
    assert.equal(lines.filter((l) => l.includes('\tdraining')).length, 1);
    // A second stop() is the same stop.
    await runtime.stop();
    assert.equal(lines.filter((l) => l.includes('\tdraining')).length, 1);
  } finally {
    await runtime.stop();
    await rm(dir, { recursive: true, force: true });
  }
});
