// The mesh's root certificate authority: created once under the state directory, then reused across restarts.
import { readFile, stat } from 'node:fs/promises';
import { L4meshError } from '../../errors/index.js';
import { checkCsr } from '../../identity/csr.js';
import { type CryptoKey, ECDSA_P256_SHA256, generateP256KeyPair, privateKeyFromPem, privateKeyToPem, terminatedPem, x509 } from '../../identity/x509.js';
import {
  DEFAULT_SERVING_DNS_NAMES,
  DEFAULT_SERVING_IP_ADDRESSES,
  createLeafCertificate,
  createRootCertificate,
} from './certificate-profiles.js';
import { writeFileAtomic } from '../../config/secret-file.js';
import { rootCertFile, rootKeyFile } from '../../config/state-layout.js';

/** The control plane's own TLS certificate is re-issued at every start; a year spares long-running hosts. */
export const DEFAULT_SERVING_TTL_SECONDS = 365 * 24 * 3600;

export interface ServingCertificateRequest {
  dnsNames?: string[];
  ipAddresses?: string[];
  ttlSeconds?: number;
}

export interface ServingCertificate {
  keyPem: string;
  /** Leaf then root, PEM, concatenated: what tls.createSecureContext and grpc-js take as `cert_chain`. */
  certChainPem: string;
}

export class RootCa {
  readonly certificate: x509.X509Certificate;
  /** The root certificate, PEM (newline-terminated), byte-identical to `<stateDir>/ca/root-cert.pem`. */
  readonly certPem: string;
  readonly #key: CryptoKey;

  constructor(certPem: string, key: CryptoKey) {
    this.certPem = certPem;
    this.certificate = new x509.X509Certificate(certPem);
    this.#key = key;
  }

  /**
   * Signs the CSR's key for `spiffeId` (the caller has already decided the identity is allowed).
   * Returns `[leaf PEM, root PEM]`, each newline-terminated. Throws L4MESH_ERR_INVALID_CSR for a malformed or non-P-256 CSR.
   */
  async issueWorkloadCertificate(csrPem: string, spiffeId: string, ttlSeconds: number): Promise<string[]> {
    if (!(ttlSeconds > 0)) {
      throw new L4meshError('L4MESH_ERR_CERTIFICATE', `certificate lifetime must be positive, got ${ttlSeconds} s`);
    }
    const { request } = await checkCsr(csrPem);
    const leaf = await createLeafCertificate({
      root: this.certificate,
      rootKey: this.#key,
      publicKey: request.publicKey,
      names: [{ type: 'url', value: spiffeId }],
      extendedKeyUsages: [x509.ExtendedKeyUsage.serverAuth, x509.ExtendedKeyUsage.clientAuth],
      ttlSeconds,
      now: new Date(),
    });
    return [terminatedPem(leaf.toString('pem')), this.certPem];
  }

  /** A fresh key and certificate for the control plane's own gRPC/HTTPS listener. */
  async issueServingCertificate(params: ServingCertificateRequest = {}): Promise<ServingCertificate> {
    const keys = await generateP256KeyPair();
    const dnsNames = unique([...DEFAULT_SERVING_DNS_NAMES, ...(params.dnsNames ?? [])]);
    const ipAddresses = unique([...DEFAULT_SERVING_IP_ADDRESSES, ...(params.ipAddresses ?? [])]);
    const leaf = await createLeafCertificate({
      root: this.certificate,
      rootKey: this.#key,
      publicKey: keys.publicKey,
      names: [
        ...dnsNames.map((value) => ({ type: 'dns' as const, value })),
        ...ipAddresses.map((value) => ({ type: 'ip' as const, value })),
      ],
      extendedKeyUsages: [x509.ExtendedKeyUsage.serverAuth],
      ttlSeconds: params.ttlSeconds ?? DEFAULT_SERVING_TTL_SECONDS,
      now: new Date(),
    });
    return { keyPem: await privateKeyToPem(keys.privateKey), certChainPem: terminatedPem(leaf.toString('pem')) + this.certPem };
  }
}

/**
 * Loads the root CA from `<stateDir>/ca/`, or creates it at first start. The key is written before the
 * certificate, so a crash in between leaves an unpublished key that the next start simply replaces.
 */
export async function loadOrCreateRootCa(stateDir: string): Promise<RootCa> {
  const certPath = rootCertFile(stateDir);
  const keyPath = rootKeyFile(stateDir);
  const certPem = await readIfExists(certPath);
  if (certPem !== undefined) {
    const keyPem = await readIfExists(keyPath);
    if (keyPem === undefined) {
      throw new L4meshError(
        'L4MESH_ERR_CERTIFICATE',
        `${certPath} exists but ${keyPath} does not; restore the key from backup, or delete ${certPath} to create a new root (every proxy must then rejoin)`,
      );
    }
    return loadRootCa(certPath, certPem, keyPath, keyPem);
  }
  const keys = await generateP256KeyPair();
  const certificate = await createRootCertificate(keys, new Date());
  const newCertPem = terminatedPem(certificate.toString('pem'));
  await writeFileAtomic(keyPath, await privateKeyToPem(keys.privateKey));
  await writeFileAtomic(certPath, newCertPem, 0o644);
  return new RootCa(newCertPem, await privateKeyFromPem(await readFile(keyPath, 'utf8')));
}

async function loadRootCa(certPath: string, certPem: string, keyPath: string, keyPem: string): Promise<RootCa> {
  let ca: RootCa;
  let key: CryptoKey;
  try {
    key = await privateKeyFromPem(keyPem);
    ca = new RootCa(certPem, key);
  } catch (error) {
    throw new L4meshError('L4MESH_ERR_CERTIFICATE', `cannot read the root CA from ${certPath} and ${keyPath}: ${(error as Error).message}`, {
      cause: error,
    });
  }
  // A key that does not belong to the certificate would sign leaves nobody can verify: fail at start instead.
  const probe = await x509.X509CertificateGenerator.create({
    subject: 'CN=l4mesh key check',
    issuer: ca.certificate.subjectName,
    publicKey: ca.certificate.publicKey,
    signingKey: key,
    signingAlgorithm: ECDSA_P256_SHA256,
  });
  if (!(await probe.verify({ publicKey: ca.certificate.publicKey, signatureOnly: true }))) {
    throw new L4meshError('L4MESH_ERR_CERTIFICATE', `${keyPath} is not the key of ${certPath}; restore the matching pair`);
  }
  const mode = (await stat(keyPath)).mode & 0o777;
  if (mode & 0o077) {
    throw new L4meshError('L4MESH_ERR_CERTIFICATE', `${keyPath} is readable by others (mode ${mode.toString(8)}); run chmod 600 on it`);
  }
  return ca;
}

async function readIfExists(path: string): Promise<string | undefined> {
  try {
    return await readFile(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
}

function unique(values: string[]): string[] {
  return [...new Set(values)];
}
