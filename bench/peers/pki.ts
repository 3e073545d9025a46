// Certificates for the TLS-tunnel peers (stunnel, haproxy): one P-256 CA, a server and a client
// certificate, made with openssl in a temp dir, so the peers do the same mutual-TLS work the mesh does.
import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { run } from '../proc.js';

export interface PeerPki {
  dir: string;
  ca: string;
  serverCert: string;
  serverKey: string;
  /** Certificate followed by its key, the single-file form haproxy wants. */
  serverCombined: string;
  clientCert: string;
  clientKey: string;
  clientCombined: string;
}

async function issue(dir: string, name: string, san: string, extendedUsage: string): Promise<void> {
  const key = join(dir, `${name}.key`);
  await run('openssl', ['ecparam', '-name', 'prime256v1', '-genkey', '-noout', '-out', key]);
  await run('openssl', ['req', '-new', '-key', key, '-subj', `/CN=${name}`, '-out', join(dir, `${name}.csr`)]);
  const ext = join(dir, `${name}.ext`);
  await writeFile(ext, `subjectAltName=${san}\nextendedKeyUsage=${extendedUsage}\nkeyUsage=digitalSignature\n`);
  await run('openssl', ['x509', '-req', '-in', join(dir, `${name}.csr`), '-CA', join(dir, 'ca.pem'), '-CAkey', join(dir, 'ca.key'), '-CAcreateserial', '-days', '2', '-sha256', '-extfile', ext, '-out', join(dir, `${name}.pem`)]);
  await writeFile(join(dir, `${name}-combined.pem`), (await readFile(join(dir, `${name}.pem`), 'utf8')) + (await readFile(key, 'utf8')));
}

export async function makePeerPki(): Promise<PeerPki> {
  const dir = await mkdtemp(join(tmpdir(), 'l4mesh-bench-pki-'));
  await run('openssl', ['ecparam', '-name', 'prime256v1', '-genkey', '-noout', '-out', join(dir, 'ca.key')]);
  await run('openssl', ['req', '-x509', '-new', '-key', join(dir, 'ca.key'), '-subj', '/CN=bench-ca', '-days', '2', '-sha256', '-out', join(dir, 'ca.pem')]);
  await issue(dir, 'server', 'DNS:bench-server,IP:127.0.0.1', 'serverAuth');
  await issue(dir, 'client', 'DNS:bench-client', 'clientAuth');
  return {
    dir,
    ca: join(dir, 'ca.pem'),
    serverCert: join(dir, 'server.pem'),
    serverKey: join(dir, 'server.key'),
    serverCombined: join(dir, 'server-combined.pem'),
    clientCert: join(dir, 'client.pem'),
    clientKey: join(dir, 'client.key'),
    clientCombined: join(dir, 'client-combined.pem'),
  };
}
