// The CA client never sends an IP address as TLS server name (RFC 6066; Node's DEP0123 warning):
// dialled by IP, it names the control plane as its certificate does.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { CaClient } from '../../../src/identity/ca-client.js';
import { createCaFixture, PRODUCTPAGE } from './ca-fixture.js';

test('a CaClient dialling 127.0.0.1 gets its certificate without a DEP0123 warning', async () => {
  const warnings: string[] = [];
  const onWarning = (w: Error & { code?: string }) => warnings.push(`${w.code ?? w.name}: ${w.message}`);
  process.on('warning', onWarning);
  const fixture = await createCaFixture();
  const port = await fixture.start();
  const client = new CaClient({ address: `127.0.0.1:${port}`, rootCertPem: fixture.ca.certPem, token: fixture.tokenA });
  try {
    const cert = await client.requestCertificate(PRODUCTPAGE);
    assert.equal(cert.identity, PRODUCTPAGE);
    // Warnings are emitted on the next tick.
    await new Promise((r) => setImmediate(r));
    assert.deepEqual(warnings.filter((w) => w.startsWith('DEP0123')), []);
  } finally {
    process.off('warning', onWarning);
    client.close();
    await fixture.close();
  }
});
