// What every proxy role (node proxy, sidecar, waypoint) needs from the control plane: its token and the
// mesh root from disk, a certificate manager backed by the CA, and an xDS client — with the same
// operator-facing logging everywhere.
import { readFile } from 'node:fs/promises';
import * as grpc from '@grpc/grpc-js';
import { L4meshError } from '../../errors/index.js';
import { CONTROL_PLANE_SERVER_NAME } from '../../config/mesh-constants.js';
import { rootCertFile, STATE_DIR_PLACEHOLDER } from '../../config/state-layout.js';
import { CaClient } from '../../identity/ca-client.js';
import { CertificateManager } from '../../identity/certificate-manager.js';
import type { WorkloadCertificate } from '../../identity/workload-certificate.js';
import { XdsClient } from '../xds/client.js';
import type { Logger } from '../../logging/logger.js';

export interface ControlPlaneLinkOptions {
  /** `host:port` of xDS + CA (CONTROL_PLANE_GRPC_PORT). */
  controlPlane: string;
  tokenFile: string;
  rootCertFile: string;
  /** The node the token belongs to, for the error message when it is missing. */
  node: string;
  nodeId: string;
  typeUrls?: string[];
  /** Runs after every issued certificate (first issue and each rotation), e.g. to serve it. */
  onCertificate: (identity: string, certificate: WorkloadCertificate) => void;
  log: Logger;
  /** Added to the "certificate request failed" warning, e.g. where to look for this role. */
  certificateHint?: string;
}

export interface ControlPlaneLink {
  token: string;
  rootPem: string;
  certs: CertificateManager;
  /** Not started: the caller subscribes to 'update' first, then calls `xds.start()`. */
  xds: XdsClient;
}

async function readRequired(file: string, what: string, hint: string): Promise<string> {
  try {
    return (await readFile(file, 'utf8')).trim();
  } catch (err) {
    throw new L4meshError('L4MESH_ERR_CONFIG', `cannot read ${what} ${file}: ${(err as NodeJS.ErrnoException).code ?? err} — ${hint}`);
  }
}

export async function linkToControlPlane(options: ControlPlaneLinkOptions): Promise<ControlPlaneLink> {
  const { log } = options;
  const token = await readRequired(options.tokenFile, 'the node token', `create one with "l4mesh control-plane token create --node ${options.node}"`);
  const rootPem = (await readRequired(options.rootCertFile, 'the mesh root certificate', `it is ${rootCertFile(STATE_DIR_PLACEHOLDER)} of the control plane`)) + '\n';

  const certs = new CertificateManager({
    client: new CaClient({ address: options.controlPlane, rootCertPem: rootPem, token, serverName: CONTROL_PLANE_SERVER_NAME }),
  });
  certs.on('updated', (identity: string) => {
    const cert = certs.get(identity);
    if (cert) options.onCertificate(identity, cert);
    log.info('certificate issued', { identity, expires: cert?.notAfter.toISOString() });
  });
  certs.on('failed', (identity: string, err: Error) =>
    log.warn(`certificate request failed, retrying${options.certificateHint ? ` (${options.certificateHint})` : ''}`, { identity, error: err }),
  );

  const xdsLog = log.child('xds');
  const xds = new XdsClient({
    address: options.controlPlane,
    credentials: grpc.credentials.createSsl(Buffer.from(rootPem)),
    nodeId: options.nodeId,
    typeUrls: options.typeUrls,
    channelOptions: { 'grpc.ssl_target_name_override': CONTROL_PLANE_SERVER_NAME, 'grpc.default_authority': CONTROL_PLANE_SERVER_NAME },
    metadata: { authorization: `Bearer ${token}` },
    log: (level, message, fields) => xdsLog.log(level, message, fields),
  });
  xds.on('connected', (address: string) => log.info('connected to the control plane', { address }));
  xds.on('disconnected', (err: Error) => log.warn('lost the control plane, keeping the last config and retrying', { error: err }));
  return { token, rootPem, certs, xds };
}
