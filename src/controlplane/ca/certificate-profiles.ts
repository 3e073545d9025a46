// What the CA puts into the certificates it signs: the root, workload leaves and its own serving cert.
import { randomBytes } from 'node:crypto';
import { type CryptoKey, type CryptoKeyPair, ECDSA_P256_SHA256, x509 } from '../../identity/x509.js';
import { CONTROL_PLANE_SERVER_NAME, DEFAULT_CONTROL_PLANE_ADDRESS, DEFAULT_TRUST_DOMAIN } from '../../config/mesh-constants.js';

/** Ten years: the root outlives every deployment we expect; rotation is a manual, planned event. */
export const ROOT_VALIDITY_SECONDS = 10 * 365 * 24 * 3600;
export const ROOT_SUBJECT = `O=${DEFAULT_TRUST_DOMAIN}, CN=l4mesh root`;
/** Leaves start 60 s in the past so a peer whose clock runs slightly behind still accepts them. */
export const CLOCK_SKEW_SECONDS = 60;
/** Names the control plane is reached by: locally, and under Istio's own service name for istio-agent clients. */
export const DEFAULT_SERVING_DNS_NAMES = ['localhost', CONTROL_PLANE_SERVER_NAME];
export const DEFAULT_SERVING_IP_ADDRESSES = [DEFAULT_CONTROL_PLANE_ADDRESS];

/**
 * 16 random bytes as a positive DER integer: the top bit is cleared (else it reads as negative) and the
 * first byte is non-zero (else DER would drop it), so every serial is exactly 16 bytes, 127 bits random.
 */
export function randomSerialNumber(): string {
  const bytes = randomBytes(16);
  bytes[0] = (bytes[0]! & 0x7f) | 0x01;
  return bytes.toString('hex');
}

export async function createRootCertificate(keys: CryptoKeyPair, now: Date): Promise<x509.X509Certificate> {
  return x509.X509CertificateGenerator.createSelfSigned({
    keys,
    name: ROOT_SUBJECT,
    serialNumber: randomSerialNumber(),
    notBefore: new Date(now.getTime() - CLOCK_SKEW_SECONDS * 1000),
    notAfter: new Date(now.getTime() + ROOT_VALIDITY_SECONDS * 1000),
    signingAlgorithm: ECDSA_P256_SHA256,
    extensions: [
      new x509.BasicConstraintsExtension(true, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
    ],
  });
}

export interface LeafParams {
  root: x509.X509Certificate;
  rootKey: CryptoKey;
  publicKey: x509.PublicKey | CryptoKey;
  names: x509.JsonGeneralNames;
  extendedKeyUsages: x509.ExtendedKeyUsage[];
  ttlSeconds: number;
  now: Date;
}

/**
 * A leaf with an empty subject and a critical SAN (as Istio issues them: the identity lives in the
 * SAN only), not a CA, usable for TLS signatures, linked to the root by its key identifier.
 */
export async function createLeafCertificate(params: LeafParams): Promise<x509.X509Certificate> {
  const { root, now } = params;
  return x509.X509CertificateGenerator.create({
    serialNumber: randomSerialNumber(),
    subject: '',
    issuer: root.subjectName,
    notBefore: new Date(now.getTime() - CLOCK_SKEW_SECONDS * 1000),
    notAfter: new Date(now.getTime() + params.ttlSeconds * 1000),
    publicKey: params.publicKey,
    signingKey: params.rootKey,
    signingAlgorithm: ECDSA_P256_SHA256,
    extensions: [
      new x509.BasicConstraintsExtension(false, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature | x509.KeyUsageFlags.keyEncipherment, true),
      new x509.ExtendedKeyUsageExtension(params.extendedKeyUsages),
      new x509.SubjectAlternativeNameExtension(params.names, true),
      await x509.AuthorityKeyIdentifierExtension.create(root.publicKey),
    ],
  });
}
