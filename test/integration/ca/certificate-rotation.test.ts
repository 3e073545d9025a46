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

test('a 2 s certificate is replaced by a new serial at half its remaining life (about 1 s)', async () => {
  const fixture = await createCaFixture();
  const port = await fixture.start();
  const client = new CaClient({ address: `127.0.0.1:${port}`, rootCertPem: fixture.ca.certPem, token: fixture.tokenA });
  const manager = new CertificateManager({ client, ttlSeconds: 2, backoff: { initialMs: 10, maxMs: 15000 } });
  const serials: Array<{ serial: string; at: number; notAfter: number }> = [];
  manager.on('updated', (identity: string) => {
    const certificate = manager.get(identity)!;
    serials.push({ serial: certificate.serialNumber, at: Date.now(), notAfter: certificate.notAfter.getTime() });
  });
  try {
    manager.ensure([PRODUCTPAGE]);
    await until(() => serials.length >= 2, 4000);
    assert.notEqual(serials[1]!.serial, serials[0]!.serial);
    // Certificates carry whole seconds, so "half life" is half of what was left of the truncated 2 s.
    const gap = serials[1]!.at - serials[0]!.at;
    const expected = (serials[0]!.notAfter - serials[0]!.at) / 2;
    assert.ok(expected > 400 && expected <= 1000, `first certificate had ${2 * expected} ms left`);
    assert.ok(gap >= expected - 20 && gap < expected + 400, `renewed after ${gap} ms, expected about ${expected} ms`);
    const current = manager.get(PRODUCTPAGE)!;
    const leaf = new x509.X509Certificate(current.chainPem[0]!);
    assert.equal(leaf.serialNumber.toLowerCase(), serials[1]!.serial);
    assert.equal(current.notAfter.getTime() - current.notBefore.getTime(), 62_000);
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
