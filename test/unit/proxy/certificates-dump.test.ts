// The certificates section of every proxy's /config_dump: chain and root with serial and validity, never the key.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createTestCa } from '../../support/test-pki.js';
import { certificatesDump } from '../../../src/dataplane/proxy/config-dump.js';
import { workloadCertificateFromChain } from '../../../src/identity/workload-certificate.js';

const ID = 'spiffe://cluster.local/ns/default/sa/waypoint';

test('a held certificate is dumped as chain and root entries without the private key', async () => {
  const ca = await createTestCa();
  const issued = await ca.issue(ID);
  const certificate = workloadCertificateFromChain(ID, issued.keyPem, issued.chainPem);
  const [dump] = certificatesDump([{ identity: ID, state: 'Available', certificate }]);
  assert.deepEqual(Object.keys(dump!), ['identity', 'state', 'certChain', 'rootCerts']);
  assert.equal(dump!.certChain.length, 1);
  assert.equal(dump!.certChain[0]!.pem, issued.chainPem[0]);
  assert.equal(dump!.certChain[0]!.serialNumber, certificate.serialNumber);
  assert.equal(dump!.certChain[0]!.expirationTime, certificate.notAfter.toISOString());
  assert.equal(dump!.rootCerts[0]!.pem, issued.rootPem);
  assert.doesNotMatch(JSON.stringify(dump), /PRIVATE KEY/);
});

test('an identity still waiting shows its state and last error, with empty chains', () => {
  assert.deepEqual(certificatesDump([{ identity: ID, state: 'Unavailable', lastError: new Error('no control plane') }]), [
    { identity: ID, state: 'Unavailable', certChain: [], rootCerts: [], lastError: 'no control plane' },
  ]);
});
