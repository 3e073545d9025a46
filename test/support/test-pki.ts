// A small in-test certificate authority: a P-256 root and leaf certificates with SPIFFE URI SANs,
// shaped like what the mesh CA issues, so TLS code is tested against realistic chains.
import { webcrypto } from 'node:crypto';

// @peculiar/x509's CommonJS build (the one Node resolves) loads tsyringe, which refuses to start without
// a Reflect metadata API, and no polyfill package is installed. The library only needs a metadata
// store, so a minimal one is provided here, before the library is loaded.
type MetadataReflect = typeof Reflect & {
  getMetadata?: (key: unknown, target: object) => unknown;
  getOwnMetadata?: (key: unknown, target: object) => unknown;
  defineMetadata?: (key: unknown, value: unknown, target: object) => void;
};
const reflect = Reflect as MetadataReflect;
if (!reflect.getMetadata) {
  const store = new WeakMap<object, Map<unknown, unknown>>();
  reflect.defineMetadata = (key, value, target) => {
    let entries = store.get(target);
    if (!entries) store.set(target, (entries = new Map()));
    entries.set(key, value);
  };
  reflect.getOwnMetadata = (key, target) => store.get(target)?.get(key);
  reflect.getMetadata = (key, target) => {
    for (let t: object | null = target; t; t = Object.getPrototypeOf(t) as object | null) {
      const entries = store.get(t);
      if (entries?.has(key)) return entries.get(key);
    }
    return undefined;
  };
}
const x509 = await import('@peculiar/x509');
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- the DOM Crypto type is not in this lib set
x509.cryptoProvider.set(webcrypto as any);

const EC_KEY: webcrypto.EcKeyGenParams = { name: 'ECDSA', namedCurve: 'P-256' };
const SIGNING: webcrypto.EcdsaParams = { name: 'ECDSA', hash: 'SHA-256' };
/** Back-dated so a test host whose clock is slightly behind still accepts fresh certificates. */
const CLOCK_SKEW_MS = 60 * 60 * 1000;
const DAY_MS = 24 * 60 * 60 * 1000;

/** What the data plane needs to act as one workload identity (same shape as the CA's answer). */
export interface TestIdentity {
  spiffeId: string;
  keyPem: string;
  /** Leaf first, root last — the CA's `cert_chain` order. */
  chainPem: string[];
  rootPem: string;
}

export interface TestCa {
  rootPem: string;
  issue(spiffeId: string, options?: { validForMs?: number; extraUris?: string[] }): Promise<TestIdentity>;
}

function toPem(label: string, der: ArrayBuffer): string {
  const b64 = Buffer.from(der).toString('base64').replace(/.{64}/g, '$&\n');
  return `-----BEGIN ${label}-----\n${b64}${b64.endsWith('\n') ? '' : '\n'}-----END ${label}-----\n`;
}

async function generateKeys(): Promise<webcrypto.CryptoKeyPair> {
  return (await webcrypto.subtle.generateKey(EC_KEY, true, ['sign', 'verify'])) as webcrypto.CryptoKeyPair;
}

/** Creates a fresh root; two calls give two unrelated trust domains' roots (for negative tests). */
export async function createTestCa(commonName = 'l4mesh test root'): Promise<TestCa> {
  const rootKeys = await generateKeys();
  const now = Date.now();
  const root = await x509.X509CertificateGenerator.createSelfSigned({
    name: `CN=${commonName}, O=l4mesh`,
    keys: rootKeys,
    notBefore: new Date(now - CLOCK_SKEW_MS),
    notAfter: new Date(now + 30 * DAY_MS),
    signingAlgorithm: SIGNING,
    extensions: [
      new x509.BasicConstraintsExtension(true, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
      await x509.SubjectKeyIdentifierExtension.create(rootKeys.publicKey),
    ],
  });
  const rootPem = root.toString('pem') + '\n';

  async function issue(
    spiffeId: string,
    options: { validForMs?: number; extraUris?: string[] } = {},
  ): Promise<TestIdentity> {
    const keys = await generateKeys();
    const issuedAt = Date.now();
    const uris = [spiffeId, ...(options.extraUris ?? [])];
    const leaf = await x509.X509CertificateGenerator.create({
      subject: 'O=l4mesh',
      issuer: root.subject,
      publicKey: keys.publicKey,
      signingKey: rootKeys.privateKey,
      notBefore: new Date(issuedAt - CLOCK_SKEW_MS),
      notAfter: new Date(issuedAt + (options.validForMs ?? DAY_MS)),
      signingAlgorithm: SIGNING,
      extensions: [
        new x509.BasicConstraintsExtension(false, undefined, true),
        new x509.KeyUsagesExtension(
          x509.KeyUsageFlags.digitalSignature | x509.KeyUsageFlags.keyEncipherment,
          true,
        ),
        new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth, x509.ExtendedKeyUsage.clientAuth]),
        new x509.SubjectAlternativeNameExtension(
          uris.map((value) => ({ type: 'url' as const, value })),
          true,
        ),
        await x509.AuthorityKeyIdentifierExtension.create(root),
      ],
    });
    const pkcs8 = await webcrypto.subtle.exportKey('pkcs8', keys.privateKey);
    return {
      spiffeId,
      keyPem: toPem('PRIVATE KEY', pkcs8),
      chainPem: [leaf.toString('pem') + '\n', rootPem],
      rootPem,
    };
  }

  return { rootPem, issue };
}
