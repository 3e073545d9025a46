// Certificate signing requests: the proxy generates a P-256 key and CSR per identity; the CA reads and checks them.
import { L4meshError } from '../errors/index.js';
import { type EcKeyAlgorithm, ECDSA_P256_SHA256, generateP256KeyPair, privateKeyToPem, terminatedPem, x509 } from './x509.js';

const SUBJECT_ALT_NAME_OID = '2.5.29.17';

export interface GeneratedCsr {
  /** PKCS#8 PEM of the new private key; it never leaves the proxy. */
  keyPem: string;
  csrPem: string;
}

/** A fresh P-256 key and a CSR carrying `spiffeId` as its only URI SAN (empty subject, as Istio's agents send). */
export async function generateCsr(spiffeId: string): Promise<GeneratedCsr> {
  const keys = await generateP256KeyPair();
  const csr = await x509.Pkcs10CertificateRequestGenerator.create({
    keys,
    signingAlgorithm: ECDSA_P256_SHA256,
    extensions: [new x509.SubjectAlternativeNameExtension([{ type: 'url', value: spiffeId }], true)],
  });
  return { keyPem: await privateKeyToPem(keys.privateKey), csrPem: terminatedPem(csr.toString('pem')) };
}

export interface CheckedCsr {
  request: x509.Pkcs10CertificateRequest;
  /** URI SANs requested, in CSR order. */
  uris: string[];
}

/**
 * Parses a PEM CSR and checks what the CA relies on: it decodes, its self-signature verifies (the
 * sender holds the key), and the key is ECDSA P-256. Throws L4MESH_ERR_INVALID_CSR otherwise.
 */
export async function checkCsr(csrPem: string): Promise<CheckedCsr> {
  let request: x509.Pkcs10CertificateRequest;
  try {
    request = new x509.Pkcs10CertificateRequest(csrPem);
  } catch (error) {
    throw new L4meshError('L4MESH_ERR_INVALID_CSR', `the CSR is not a PEM PKCS#10 request: ${(error as Error).message}`, { cause: error });
  }
  const algorithm = request.publicKey.algorithm as Partial<EcKeyAlgorithm>;
  if (algorithm.name !== 'ECDSA' || algorithm.namedCurve !== 'P-256') {
    throw new L4meshError(
      'L4MESH_ERR_INVALID_CSR',
      `the CSR key is ${algorithm.name ?? 'unknown'}${algorithm.namedCurve ? ' ' + algorithm.namedCurve : ''}; the mesh CA signs ECDSA P-256 keys only`,
    );
  }
  let signatureValid = false;
  try {
    signatureValid = await request.verify();
  } catch (error) {
    throw new L4meshError('L4MESH_ERR_INVALID_CSR', `the CSR signature cannot be checked: ${(error as Error).message}`, { cause: error });
  }
  if (!signatureValid) {
    throw new L4meshError('L4MESH_ERR_INVALID_CSR', 'the CSR self-signature does not verify (corrupted request or key mismatch)');
  }
  return { request, uris: csrUriSans(request) };
}

function csrUriSans(request: x509.Pkcs10CertificateRequest): string[] {
  const uris: string[] = [];
  for (const extension of request.extensions) {
    if (extension.type !== SUBJECT_ALT_NAME_OID) continue;
    const san = extension instanceof x509.SubjectAlternativeNameExtension ? extension : new x509.SubjectAlternativeNameExtension(extension.rawData);
    for (const name of san.names.toJSON()) if (name.type === 'url') uris.push(name.value);
  }
  return uris;
}
