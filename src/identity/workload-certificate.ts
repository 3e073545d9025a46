// A workload's certificate as the proxy holds it: key, chain and the facts read from the leaf.
import { L4meshError } from '../errors/index.js';
import { terminatedPem, x509 } from './x509.js';

export interface WorkloadCertificate {
  /** The SPIFFE id in the leaf's URI SAN. */
  identity: string;
  /** PKCS#8 PEM private key. */
  keyPem: string;
  /** Leaf first, then any intermediates; the root is `rootPem`, not repeated here. */
  chainPem: string[];
  rootPem: string;
  /** The leaf's serial, lower-case hex as @peculiar/x509 prints it. */
  serialNumber: string;
  notBefore: Date;
  notAfter: Date;
}

/**
 * Builds a WorkloadCertificate from a CA answer (`cert_chain`: leaf first, root last) after checking
 * that the leaf really names `identity` — a CA bug must not make us present someone else's name.
 */
export function workloadCertificateFromChain(identity: string, keyPem: string, answeredChain: string[]): WorkloadCertificate {
  // Other CAs (istiod) may omit the final newline; chains are concatenated later, so normalize here.
  const certChain = answeredChain.map(terminatedPem);
  if (certChain.length < 2) {
    throw new L4meshError('L4MESH_ERR_CERTIFICATE', `the CA answered a chain of ${certChain.length} certificate(s) for ${identity}; expected leaf and root`);
  }
  const leafPem = certChain[0]!;
  let leaf: x509.X509Certificate;
  try {
    leaf = new x509.X509Certificate(leafPem);
  } catch (error) {
    throw new L4meshError('L4MESH_ERR_CERTIFICATE', `the CA answered an unreadable certificate for ${identity}: ${(error as Error).message}`, { cause: error });
  }
  const uris = leafUris(leaf);
  if (uris.length !== 1 || uris[0] !== identity) {
    throw new L4meshError('L4MESH_ERR_CERTIFICATE', `the CA issued a certificate for [${uris.join(', ')}] when ${identity} was requested`);
  }
  return {
    identity,
    keyPem,
    chainPem: certChain.slice(0, -1),
    rootPem: certChain[certChain.length - 1]!,
    serialNumber: leaf.serialNumber.toLowerCase(),
    notBefore: leaf.notBefore,
    notAfter: leaf.notAfter,
  };
}

/** URI SANs of a certificate. */
export function leafUris(certificate: x509.X509Certificate): string[] {
  const san = certificate.getExtension(x509.SubjectAlternativeNameExtension);
  return san ? san.names.toJSON().filter((name) => name.type === 'url').map((name) => name.value) : [];
}
