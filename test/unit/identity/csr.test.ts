// generateCsr makes a P-256 key and a CSR whose only URI SAN is the SPIFFE id; checkCsr reads it back.
import assert from 'node:assert/strict';
import { createPrivateKey, createPublicKey } from 'node:crypto';
import { test } from 'node:test';
import { checkCsr, generateCsr } from '../../../src/identity/csr.js';
import { x509 } from '../../../src/identity/x509.js';

const IDENTITY = 'spiffe://cluster.local/ns/bookinfo/sa/details';

test('the CSR carries exactly the SPIFFE id as URI SAN, an empty subject, and the generated P-256 key', async () => {
  const { keyPem, csrPem } = await generateCsr(IDENTITY);
  assert.match(csrPem, /^-----BEGIN CERTIFICATE REQUEST-----\n/);
  assert.match(keyPem, /^-----BEGIN PRIVATE KEY-----\n/);
  // Newline-terminated, so PEMs concatenate into valid bundles.
  assert.ok(csrPem.endsWith('-----END CERTIFICATE REQUEST-----\n'));
  assert.ok(keyPem.endsWith('-----END PRIVATE KEY-----\n'));

  const checked = await checkCsr(csrPem);
  assert.deepEqual(checked.uris, [IDENTITY]);
  assert.equal(checked.request.subject, '');
  assert.deepEqual(checked.request.publicKey.algorithm, { name: 'ECDSA', namedCurve: 'P-256' });

  const privateKey = createPrivateKey(keyPem);
  assert.equal(privateKey.asymmetricKeyType, 'ec');
  assert.equal(privateKey.asymmetricKeyDetails?.namedCurve, 'prime256v1');
  const fromKey = createPublicKey(privateKey).export({ type: 'spki', format: 'der' });
  assert.deepEqual(Buffer.from(checked.request.publicKey.rawData), fromKey);
});

test('each call makes a new key', async () => {
  const a = await generateCsr(IDENTITY);
  const b = await generateCsr(IDENTITY);
  assert.notEqual(a.keyPem, b.keyPem);
});

test('checkCsr lists every URI SAN so the CA can refuse CSRs with more than one', async () => {
  const algorithm = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' };
  const keys = (await globalThis.crypto.subtle.generateKey(algorithm, true, ['sign', 'verify'])) as CryptoKeyPair;
  const csr = await x509.Pkcs10CertificateRequestGenerator.create({
    keys,
    signingAlgorithm: algorithm,
    extensions: [
      new x509.SubjectAlternativeNameExtension([
        { type: 'dns', value: 'details.bookinfo.svc' },
        { type: 'url', value: IDENTITY },
        { type: 'url', value: 'spiffe://cluster.local/ns/kube-system/sa/admin' },
      ]),
    ],
  });
  assert.deepEqual((await checkCsr(csr.toString('pem'))).uris, [IDENTITY, 'spiffe://cluster.local/ns/kube-system/sa/admin']);
});
