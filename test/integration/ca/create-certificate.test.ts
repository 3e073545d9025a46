// CreateCertificate over real gRPC/TLS: what a node may obtain, and the exact status of every refusal.
import * as grpc from '@grpc/grpc-js';
import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { caClientConstructor, stringStruct, type IstioCertificateResponse } from '../../../src/identity/ca-proto.js';
import { CaClient, CaRequestError } from '../../../src/identity/ca-client.js';
import { CONTROL_PLANE_SERVER_NAME } from '../../../src/config/mesh-constants.js';
import { generateCsr } from '../../../src/identity/csr.js';
import { x509 } from '../../../src/identity/x509.js';
import { createCaFixture, PRODUCTPAGE, RATINGS, type CaFixture } from './ca-fixture.js';

let fixture: CaFixture;
let port: number;
let rootPem: string;
let raw: grpc.Client;

before(async () => {
  fixture = await createCaFixture();
  port = await fixture.start();
  // Trust exactly what a proxy would be given: the root certificate file.
  rootPem = await readFile(join(fixture.stateDir, 'ca', 'root-cert.pem'), 'utf8');
  const Client = caClientConstructor();
  // By name, as proxies do: an IP as TLS server name is not allowed (RFC 6066, Node's DEP0123).
  raw = new Client(`127.0.0.1:${port}`, grpc.credentials.createSsl(Buffer.from(rootPem)), { 'grpc.ssl_target_name_override': CONTROL_PLANE_SERVER_NAME });
});

after(async () => {
  raw.close();
  await fixture.close();
});

interface Outcome {
  error?: grpc.ServiceError;
  response?: IstioCertificateResponse;
}

function createCertificate(request: object, authorization?: string): Promise<Outcome> {
  const metadata = new grpc.Metadata();
  if (authorization !== undefined) metadata.set('authorization', authorization);
  const method = (raw as unknown as Record<string, Function>)['CreateCertificate']!;
  return new Promise((resolve) => {
    method.call(raw, request, metadata, { deadline: Date.now() + 10_000 }, (error: grpc.ServiceError | null, response?: IstioCertificateResponse) =>
      resolve(error ? { error } : { response }),
    );
  });
}

async function requestFor(identity: string, impersonated?: string, validity = 3600): Promise<object> {
  const { csrPem } = await generateCsr(identity);
  return { csr: csrPem, validity_duration: validity, metadata: stringStruct({ ImpersonatedIdentity: impersonated ?? identity }) };
}

test('a node obtains a 2-certificate chain for a workload on it, signed by the root, SAN exact, TTL as requested', async () => {
  const requestedAt = Date.now();
  const { response, error } = await createCertificate(await requestFor(PRODUCTPAGE, undefined, 7200), `Bearer ${fixture.tokenA}`);
  assert.equal(error, undefined);
  const chain = response!.cert_chain;
  assert.equal(chain.length, 2);
  assert.equal(chain[1], rootPem);

  const leaf = new x509.X509Certificate(chain[0]!);
  const root = new x509.X509Certificate(chain[1]!);
  assert.equal(await leaf.verify({ publicKey: root.publicKey, date: new Date() }), true);
  const san = leaf.getExtension(x509.SubjectAlternativeNameExtension)!;
  assert.deepEqual(san.names.toJSON(), [{ type: 'url', value: PRODUCTPAGE }]);
  // notBefore is backdated 60 s for clock skew; notAfter is exactly the requested TTL after issuance.
  assert.equal(leaf.notAfter.getTime() - leaf.notBefore.getTime(), (7200 + 60) * 1000);
  assert.ok(Math.abs(leaf.notAfter.getTime() - (requestedAt + 7200 * 1000)) < 5000);

  const nodeLeaf = new X509Certificate(chain[0]!);
  const nodeRoot = new X509Certificate(chain[1]!);
  assert.equal(nodeLeaf.checkIssued(nodeRoot), true);
  assert.equal(nodeLeaf.verify(nodeRoot.publicKey), true);
  assert.equal(nodeLeaf.subjectAltName, `URI:${PRODUCTPAGE}`);
  assert.equal(nodeLeaf.ca, false);
});

test('validity_duration 0 gives the 24 h default and a huge one is capped at 30 days', async () => {
  const byDefault = await createCertificate(await requestFor(PRODUCTPAGE, undefined, 0), `Bearer ${fixture.tokenA}`);
  const leaf = new x509.X509Certificate(byDefault.response!.cert_chain[0]!);
  assert.equal(leaf.notAfter.getTime() - leaf.notBefore.getTime(), (24 * 3600 + 60) * 1000);
  const capped = await createCertificate(await requestFor(PRODUCTPAGE, undefined, 365 * 24 * 3600), `Bearer ${fixture.tokenA}`);
  const cappedLeaf = new x509.X509Certificate(capped.response!.cert_chain[0]!);
  assert.equal(cappedLeaf.notAfter.getTime() - cappedLeaf.notBefore.getTime(), (30 * 24 * 3600 + 60) * 1000);
});

test('without a token the CA answers UNAUTHENTICATED (16)', async () => {
  const { error } = await createCertificate(await requestFor(PRODUCTPAGE));
  assert.equal(error?.code, 16);
  assert.equal(error?.code, grpc.status.UNAUTHENTICATED);
});

test('with an unknown token the CA answers UNAUTHENTICATED (16)', async () => {
  const forged = fixture.tokenA.slice(0, -4) + 'AAAA';
  assert.notEqual(forged, fixture.tokenA);
  const { error } = await createCertificate(await requestFor(PRODUCTPAGE), `Bearer ${forged}`);
  assert.equal(error?.code, 16);
  assert.match(error!.details, /unknown node token/);
});

test("an identity of another node's workload is PERMISSION_DENIED (7), naming node and identity", async () => {
  const { error } = await createCertificate(await requestFor(RATINGS), `Bearer ${fixture.tokenA}`);
  assert.equal(error?.code, 7);
  assert.equal(error?.details, `node node-a may not obtain identity ${RATINGS}: no workload with that identity is scheduled on node node-a`);
});

test('a CSR whose SAN differs from ImpersonatedIdentity is PERMISSION_DENIED (7)', async () => {
  const { error } = await createCertificate(await requestFor(RATINGS, PRODUCTPAGE), `Bearer ${fixture.tokenA}`);
  assert.equal(error?.code, 7);
  assert.equal(error?.details, `node node-a asked for identity ${PRODUCTPAGE} but its CSR names ${RATINGS}; the two must be equal`);
});

test('a garbage CSR is INVALID_ARGUMENT (3)', async () => {
  const { error } = await createCertificate({ csr: '-----BEGIN CERTIFICATE REQUEST-----\nbm90IGEgQ1NS\n-----END CERTIFICATE REQUEST-----\n' }, `Bearer ${fixture.tokenA}`);
  assert.equal(error?.code, 3);
  assert.match(error!.details, /^node node-a: the CSR is not a PEM PKCS#10 request/);
  const empty = await createCertificate({ csr: '' }, `Bearer ${fixture.tokenA}`);
  assert.equal(empty.error?.code, 3);
});

test('CaClient returns a WorkloadCertificate and maps refusals to L4mesh codes', async () => {
  const client = new CaClient({ address: `127.0.0.1:${port}`, rootCertPem: rootPem, token: fixture.tokenB });
  try {
    const certificate = await client.requestCertificate(RATINGS, 600);
    assert.equal(certificate.identity, RATINGS);
    assert.equal(certificate.chainPem.length, 1);
    assert.equal(certificate.rootPem, rootPem);
    const leaf = new x509.X509Certificate(certificate.chainPem[0]!);
    assert.equal(certificate.serialNumber, leaf.serialNumber.toLowerCase());
    assert.match(certificate.serialNumber, /^[0-7][0-9a-f]{31}$/);
    assert.equal(certificate.notAfter.getTime() - certificate.notBefore.getTime(), 660_000);
    // The returned key is the one the leaf certifies.
    assert.equal(new X509Certificate(certificate.chainPem[0]!).checkPrivateKey((await import('node:crypto')).createPrivateKey(certificate.keyPem)), true);

    await assert.rejects(client.requestCertificate(PRODUCTPAGE), (error: unknown) => {
      assert.ok(error instanceof CaRequestError);
      assert.equal(error.code, 'L4MESH_ERR_PERMISSION_DENIED');
      assert.equal(error.grpcCode, grpc.status.PERMISSION_DENIED);
      return true;
    });
  } finally {
    client.close();
  }
});

test('the CA logs each issuance with node, identity and TTL', () => {
  assert.ok(fixture.logLines.includes(`ca: issued ${PRODUCTPAGE} to node node-a, ttl 7200s`));
});

test('a CSR naming two URI SANs is INVALID_ARGUMENT (3): one certificate, one identity', async () => {
  const algorithm = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' };
  const keys = (await globalThis.crypto.subtle.generateKey(algorithm, true, ['sign', 'verify'])) as CryptoKeyPair;
  const csr = await x509.Pkcs10CertificateRequestGenerator.create({
    keys,
    signingAlgorithm: algorithm,
    extensions: [new x509.SubjectAlternativeNameExtension([{ type: 'url', value: PRODUCTPAGE }, { type: 'url', value: RATINGS }])],
  });
  const { error } = await createCertificate({ csr: csr.toString('pem'), metadata: stringStruct({ ImpersonatedIdentity: PRODUCTPAGE }) }, `Bearer ${fixture.tokenA}`);
  assert.equal(error?.code, 3);
  assert.equal(error?.details, 'node node-a: the CSR must carry exactly one URI SAN (the SPIFFE id), it has 2');
});
