// The one entry point to @peculiar/x509: loads the Reflect shim it needs first (dataplane/node-compat.ts) and selects Node's WebCrypto.
// Import `x509` from here, never '@peculiar/x509' directly, or the library fails to load (tsyringe).
import '../dataplane/node-compat.js';
import * as x509 from '@peculiar/x509';
import type { webcrypto } from 'node:crypto';

x509.cryptoProvider.set(globalThis.crypto);

export { x509 };

// The project compiles without the DOM lib, so name Node's WebCrypto types here for everyone.
export type CryptoKey = webcrypto.CryptoKey;
export type CryptoKeyPair = webcrypto.CryptoKeyPair;
export type EcKeyAlgorithm = webcrypto.EcKeyAlgorithm;

/** ECDSA P-256 with SHA-256: the only key type the mesh issues and accepts, as Istio's CA does by default. */
export const ECDSA_P256_SHA256 = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' } as const;

export function generateP256KeyPair(): Promise<CryptoKeyPair> {
  return globalThis.crypto.subtle.generateKey(ECDSA_P256_SHA256, true, ['sign', 'verify']);
}

/** PKCS#8 PEM ("PRIVATE KEY"), the format Node's tls and grpc-js accept. */
export async function privateKeyToPem(key: CryptoKey): Promise<string> {
  const der = await globalThis.crypto.subtle.exportKey('pkcs8', key);
  return terminatedPem(x509.PemConverter.encode(der, 'PRIVATE KEY'));
}

/**
 * The library's PEM lacks a final newline; we always add one so PEMs can be concatenated into a chain
 * (`chainPem.join('')`) and written to files as-is.
 */
export function terminatedPem(pem: string): string {
  return pem.endsWith('\n') ? pem : pem + '\n';
}

export async function privateKeyFromPem(pem: string): Promise<CryptoKey> {
  const der = x509.PemConverter.decodeFirst(pem);
  return globalThis.crypto.subtle.importKey('pkcs8', der, ECDSA_P256_SHA256, false, ['sign']);
}
