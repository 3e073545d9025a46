// The exact contents of a workload leaf, and which CSRs the root CA refuses to sign.
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { loadOrCreateRootCa, type RootCa } from '../../../src/controlplane/ca/root-ca.js';
import { L4meshError } from '../../../src/errors/index.js';
import { generateCsr } from '../../../src/identity/csr.js';
import { x509 } from '../../../src/identity/x509.js';

const IDENTITY = 'spiffe://cluster.local/ns/default/sa/bookinfo-reviews';
let dir: string;
let ca: RootCa;

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'l4mesh-profile-'));
  ca = await loadOrCreateRootCa(dir);
});
after(() => rm(dir, { recursive: true, force: true }));

function isInvalidCsr(error: unknown): boolean {
  assert.ok(error instanceof L4meshError);
  assert.equal(error.code, 'L4MESH_ERR_INVALID_CSR');
  return true;
}

test('a workload leaf: 16-byte positive serial, skew-backdated, URI SAN only, TLS usages, not a CA, AKI = root SKI', async () => {
  const { csrPem } = await generateCsr(IDENTITY);
  const before = Date.now();
  const [leafPem, rootPem] = await ca.issueWorkloadCertificate(csrPem, IDENTITY, 3600);
  const afterIssue = Date.now();
  assert.equal(rootPem, ca.certPem);
  assert.ok(leafPem!.endsWith('-----END CERTIFICATE-----\n'));
  assert.ok(rootPem!.endsWith('-----END CERTIFICATE-----\n'));
  const leaf = new x509.X509Certificate(leafPem!);

  assert.match(leaf.serialNumber, /^[0-7][0-9a-fA-F]{31}$/);
  assert.notEqual(leaf.serialNumber.slice(0, 2), '00');
  // Certificates carry whole seconds: allow the truncation on both ends.
  assert.ok(leaf.notBefore.getTime() >= Math.floor((before - 60_000) / 1000) * 1000 && leaf.notBefore.getTime() <= afterIssue - 60_000);
  assert.equal(leaf.notAfter.getTime() - leaf.notBefore.getTime(), 3660 * 1000);
  assert.equal(leaf.subject, '');
  assert.equal(leaf.issuer, 'O=cluster.local, CN=l4mesh root');

  const san = leaf.getExtension(x509.SubjectAlternativeNameExtension)!;
  assert.deepEqual(san.names.toJSON(), [{ type: 'url', value: IDENTITY }]);
  assert.equal(san.critical, true);
  assert.equal(leaf.getExtension(x509.BasicConstraintsExtension)!.ca, false);
  assert.equal(leaf.getExtension(x509.KeyUsagesExtension)!.usages, x509.KeyUsageFlags.digitalSignature | x509.KeyUsageFlags.keyEncipherment);
  assert.deepEqual([...leaf.getExtension(x509.ExtendedKeyUsageExtension)!.usages], [x509.ExtendedKeyUsage.serverAuth, x509.ExtendedKeyUsage.clientAuth]);
  const aki = leaf.getExtension(x509.AuthorityKeyIdentifierExtension)!;
  const ski = ca.certificate.getExtension(x509.SubjectKeyIdentifierExtension)!;
  assert.equal(aki.keyId, ski.keyId);
  assert.equal(await leaf.verify({ publicKey: ca.certificate.publicKey, signatureOnly: true }), true);
});

test('two leaves for the same CSR get different serials', async () => {
  const { csrPem } = await generateCsr(IDENTITY);
  const [a] = await ca.issueWorkloadCertificate(csrPem, IDENTITY, 60);
  const [b] = await ca.issueWorkloadCertificate(csrPem, IDENTITY, 60);
  assert.notEqual(new x509.X509Certificate(a!).serialNumber, new x509.X509Certificate(b!).serialNumber);
});

test('garbage, a CSR with a broken signature, and a non-P-256 key are L4MESH_ERR_INVALID_CSR', async () => {
  await assert.rejects(ca.issueWorkloadCertificate('not a csr', IDENTITY, 60), isInvalidCsr);

  const { csrPem } = await generateCsr(IDENTITY);
  const der = new Uint8Array(x509.PemConverter.decodeFirst(csrPem));
  der[der.length - 5]! ^= 0x01; // flip a bit inside the signature value
  const tampered = x509.PemConverter.encode(der.buffer, 'CERTIFICATE REQUEST');
  await assert.rejects(ca.issueWorkloadCertificate(tampered, IDENTITY, 60), (error: unknown) => {
    isInvalidCsr(error);
    assert.match((error as Error).message, /self-signature does not verify|signature cannot be checked/);
    return true;
  });

  const p384 = { name: 'ECDSA', namedCurve: 'P-384', hash: 'SHA-384' };
  const keys = (await globalThis.crypto.subtle.generateKey(p384, true, ['sign', 'verify'])) as CryptoKeyPair;
  const csr384 = await x509.Pkcs10CertificateRequestGenerator.create({
    keys,
    signingAlgorithm: p384,
    extensions: [new x509.SubjectAlternativeNameExtension([{ type: 'url', value: IDENTITY }])],
  });
  await assert.rejects(ca.issueWorkloadCertificate(csr384.toString('pem'), IDENTITY, 60), (error: unknown) => {
    isInvalidCsr(error);
    assert.equal((error as Error).message, 'the CSR key is ECDSA P-384; the mesh CA signs ECDSA P-256 keys only');
    return true;
  });
});

test('a serving certificate carries the default SANs plus the requested ones, for serverAuth', async () => {
  const serving = await ca.issueServingCertificate({ dnsNames: ['cp.example'], ipAddresses: ['127.0.0.9'], ttlSeconds: 600 });
  const certs = serving.certChainPem.split(/(?<=-----END CERTIFICATE-----)\s*/).filter((pem) => pem.includes('BEGIN'));
  assert.equal(certs.length, 2);
  assert.equal(certs[1]!.trim(), ca.certPem.trim());
  const leaf = new x509.X509Certificate(certs[0]!);
  assert.deepEqual(leaf.getExtension(x509.SubjectAlternativeNameExtension)!.names.toJSON(), [
    { type: 'dns', value: 'localhost' },
    { type: 'dns', value: 'istiod.istio-system.svc' },
    { type: 'dns', value: 'cp.example' },
    { type: 'ip', value: '127.0.0.1' },
    { type: 'ip', value: '127.0.0.9' },
  ]);
  assert.deepEqual([...leaf.getExtension(x509.ExtendedKeyUsageExtension)!.usages], [x509.ExtendedKeyUsage.serverAuth]);
  assert.match(serving.keyPem, /^-----BEGIN PRIVATE KEY-----/);
});
