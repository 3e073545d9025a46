// CertificateManager + CaClient against the real CA over gRPC/TLS: half-life renewal and recovery after an outage.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { CaClient } from '../../../src/identity/ca-client.js';
import { CertificateManager } from '../../../src/identity/certificate-manager.js';
import { x509 } from '../../../src/identity/x509.js';
import { createCaFixture, PRODUCTPAGE } from './ca-fixture.js';

async function until(condition: () => boolean, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`condition not met within ${timeoutMs} ms`);
    await sleep(10);
  }
}

/** Long enough that half its life is far above the scheduling delays of a loaded 2-core box. */
const TTL_SECONDS = 6;

test('a 6 s certificate is replaced by a new serial at half its remaining life (about 3 s)', async () => {
  const fixture = await createCaFixture();
  const port = await fixture.start();
  const client = new CaClient({ address: `127.0.0.1:${port}`, rootCertPem: fixture.ca.certPem, token: fixture.tokenA });
  const manager = new CertificateManager({ client, ttlSeconds: TTL_SECONDS, backoff: { initialMs: 10, maxMs: 15000 } });
  const serials: Array<{ serial: string; at: number; notAfter: number }> = [];
  manager.on('updated', (identity: string) => {
    const certificate = manager.get(identity)!;
    serials.push({ serial: certificate.serialNumber, at: Date.now(), notAfter: certificate.notAfter.getTime() });
  });
  try {
    manager.ensure([PRODUCTPAGE]);
    await until(() => serials.length >= 2, 30_000);
    assert.notEqual(serials[1]!.serial, serials[0]!.serial);
    // Certificates carry whole seconds, so "half life" is half of what was left of the truncated TTL.
    const gap = serials[1]!.at - serials[0]!.at;
    const expected = (serials[0]!.notAfter - serials[0]!.at) / 2;
    assert.ok(expected > (TTL_SECONDS - 2) * 500 && expected <= TTL_SECONDS * 500, `first certificate had ${2 * expected} ms left`);
    // Not before half life (timers never fire early; 20 ms for whole-ms rounding), and before the first
    // certificate expired — a late timer on a busy box may fire late, but not by a whole half life.
    assert.ok(gap >= expected - 20 && gap < 2 * expected, `renewed after ${gap} ms, expected at ${expected} ms, before ${2 * expected} ms`);
    const current = manager.get(PRODUCTPAGE)!;
    const leaf = new x509.X509Certificate(current.chainPem[0]!);
    assert.equal(leaf.serialNumber.toLowerCase(), serials[1]!.serial);
    assert.equal(current.notAfter.getTime() - current.notBefore.getTime(), (TTL_SECONDS + 60) * 1000);
    assert.equal(manager.state(PRODUCTPAGE), 'Available');
  } finally {
    manager.close();
    client.close();
    await fixture.close();
  }
});

test('while the CA is down the identity is Unavailable and retried; once it listens, the certificate arrives', async () => {
  const fixture = await createCaFixture();
  // Learn a free port, then stop listening on it so the first requests are refused.
  const port = await fixture.start();
  await fixture.stop();
  const client = new CaClient({ address: `127.0.0.1:${port}`, rootCertPem: fixture.ca.certPem, token: fixture.tokenA, requestTimeoutMs: 2000 });
  const manager = new CertificateManager({ client, backoff: { initialMs: 10, maxMs: 15000 } });
  const failures: Error[] = [];
  manager.on('failed', (_identity: string, error: Error) => failures.push(error));
  try {
    manager.ensure([PRODUCTPAGE]);
    await until(() => failures.length >= 3, 5000);
    assert.equal(manager.state(PRODUCTPAGE), 'Unavailable');
    assert.equal(manager.ready(), false);
    assert.equal((failures[0] as { code?: string }).code, 'L4MESH_ERR_NO_CONTROL_PLANE');

    await fixture.start(port);
    const recoveredWithin = Date.now();
    await until(() => manager.state(PRODUCTPAGE) === 'Available', 8000);
    assert.ok(Date.now() - recoveredWithin < 8000);
    assert.equal(manager.ready(), true);
    assert.equal(manager.get(PRODUCTPAGE)!.identity, PRODUCTPAGE);
  } finally {
    manager.close();
    client.close();
    await fixture.close();
  }
});
