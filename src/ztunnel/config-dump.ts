// The node proxy's /config_dump (DESIGN §7): what it holds from xDS, its certificates and its settings.
import { x509 } from '../identity/x509.js';
import type { CertificateStatus } from '../identity/certificate-manager.js';
import type { NodeProxy } from './node-proxy.js';

function certEntry(pem: string) {
  const cert = new x509.X509Certificate(pem);
  return {
    pem,
    serialNumber: cert.serialNumber.toLowerCase(),
    validFrom: cert.notBefore.toISOString(),
    expirationTime: cert.notAfter.toISOString(),
  };
}

/** The `certificates` section: each identity's state, chain and root (shared with the sidecar's dump). */
export function certificatesDump(statuses: readonly CertificateStatus[]) {
  return statuses.map((s) => ({
    identity: s.identity,
    state: s.state,
    certChain: s.certificate ? s.certificate.chainPem.map(certEntry) : [],
    rootCerts: s.certificate ? [certEntry(s.certificate.rootPem)] : [],
    ...(s.lastError ? { lastError: s.lastError.message } : {}),
  }));
}

export function configDump(proxy: NodeProxy) {
  const { state, config } = proxy;
  return {
    workloads: state.allWorkloads(),
    services: state.allServices(),
    policies: state.allPolicies(),
    certificates: certificatesDump(proxy.certificateStatus()),
    config: {
      node: config.node,
      proxy: `${config.proxyName}.${config.proxyNamespace}`,
      address: config.address,
      controlPlane: config.controlPlane,
      captureRange: config.captureRange,
      tcpReportingDurationMs: config.tcpReportingDurationMs,
      drainMs: config.drainMs,
      logFormat: config.logFormat,
      clusterId: config.clusterId,
      startedAt: proxy.uptimeSince.toISOString(),
    },
  };
}
