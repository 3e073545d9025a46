// The two control-plane clients every proxy role holds: the CA (certificates of its workloads, with
// rotation) and the xDS stream (workloads, services, policies), both authenticated with a node token.
import { readFile } from 'node:fs/promises';
import * as grpc from '@grpc/grpc-js';
import { L4meshError } from '../errors/index.js';
import { CaClient } from '../identity/ca-client.js';
import { CertificateManager } from '../identity/certificate-manager.js';
import type { WorkloadCertificate } from '../identity/workload-certificate.js';
import { XdsClient } from '../dataplane/xds/client.js';
import type { Logger } from '../logging/logger.js';

/** The name the control plane's serving certificate carries (as istiod's does); verified instead of the dialled IP. */
export const CONTROL_PLANE_SERVER_NAME = 'istiod.istio-system.svc';

export async function readRequired(file: string, what: string, hint: string): Promise<string> {
  try {
    return (await readFile(file, 'utf8')).trim();
  } catch (err) {
    throw new L4meshError('L4MESH_ERR_CONFIG', `cannot read ${what} ${file}: ${(err as NodeJS.ErrnoException).code ?? err} — ${hint}`);
  }
}

/** The node token and mesh root a proxy starts from; errors name the file and how to make it. */
export async function readProxyCredentials(config: { tokenFile: string; rootCertFile: string; node: string }): Promise<{ token: string; rootPem: string }> {
  const token = await readRequired(config.tokenFile, 'the node token', `create one with "l4mesh control-plane token create --node ${config.node}"`);
  const rootPem = await readRequired(config.rootCertFile, 'the mesh root certificate', 'it is <state-dir>/ca/root-cert.pem of the control plane');
  return { token, rootPem };
}

/**
 * A CertificateManager against the control plane's CA. `onIssued` runs after every new certificate
 * (first issue and each rotation); failures are logged and retried by the manager.
 */
export function createCertificateManager(options: {
  controlPlane: string;
  token: string;
  rootPem: string;
  log: Logger;
  onIssued: (identity: string, certificate: WorkloadCertificate) => void;
}): CertificateManager {
  const { log } = options;
  const certs = new CertificateManager({
    client: new CaClient({ address: options.controlPlane, rootCertPem: options.rootPem + '\n', token: options.token, serverName: CONTROL_PLANE_SERVER_NAME }),
  });
  certs.on('updated', (identity: string) => {
    const cert = certs.get(identity);
    if (cert) options.onIssued(identity, cert);
    log.info('certificate issued', { identity, expires: cert?.notAfter.toISOString() });
  });
  certs.on('failed', (identity: string, err: Error) => log.warn('certificate request failed, retrying', { identity, error: err }));
  return certs;
}

/** The xDS stream of one proxy, subscribed (wildcard) to `typeUrls`; connection changes are logged. */
export function createXdsClient(options: { controlPlane: string; token: string; rootPem: string; nodeId: string; typeUrls: string[]; log: Logger }): XdsClient {
  const { log } = options;
  const xds = new XdsClient({
    address: options.controlPlane,
    credentials: grpc.credentials.createSsl(Buffer.from(options.rootPem + '\n')),
    nodeId: options.nodeId,
    typeUrls: options.typeUrls,
    channelOptions: { 'grpc.ssl_target_name_override': CONTROL_PLANE_SERVER_NAME, 'grpc.default_authority': CONTROL_PLANE_SERVER_NAME },
    metadata: { authorization: `Bearer ${options.token}` },
    log: (level, message, fields) => log.child('xds').log(level, message, fields),
  });
  xds.on('connected', () => log.info('connected to the control plane', { address: options.controlPlane }));
  xds.on('disconnected', (err: Error) => log.warn('lost the control plane, keeping the last config and retrying', { error: err }));
  return xds;
}
