// Parts of /config_dump (DESIGN §7) every proxy role shows: the mesh it holds from xDS and its
// certificates — chain and roots only, never the private key.
import { x509 } from '../../identity/x509.js';
import type { CertificateStatus } from '../../identity/certificate-manager.js';
import type { ProxyState } from '../state/proxy-state.js';
import { pooledReadsStatus } from '../pooled-reads.js';
import type { ProxyCommonConfig } from './proxy-options.js';

function certEntry(pem: string) {
  const cert = new x509.X509Certificate(pem);
  return {
    pem,
    serialNumber: cert.serialNumber.toLowerCase(),
    validFrom: cert.notBefore.toISOString(),
    expirationTime: cert.notAfter.toISOString(),
  };
}

/** The `certificates` section: each identity's state, chain and root. */
export function certificatesDump(statuses: readonly CertificateStatus[]) {
  return statuses.map((s) => ({
    identity: s.identity,
    state: s.state,
    certChain: s.certificate ? s.certificate.chainPem.map(certEntry) : [],
    rootCerts: s.certificate ? [certEntry(s.certificate.rootPem)] : [],
    ...(s.lastError ? { lastError: s.lastError.message } : {}),
  }));
}

/** The `workloads`, `services` and `policies` sections: what the proxy received over xDS. */
export function meshDump(state: ProxyState) {
  return { workloads: state.allWorkloads(), services: state.allServices(), policies: state.allPolicies() };
}

/** The settings every proxy role has, in the order both roles' `config` sections show them. */
export function commonSettingsDump(config: ProxyCommonConfig & { address: string; captureRange: string }) {
  return {
    address: config.address,
    controlPlane: config.controlPlane,
    captureRange: config.captureRange,
    tcpReportingDurationMs: config.tcpReportingDurationMs,
    drainMs: config.drainMs,
    logFormat: config.logFormat,
    clusterId: config.clusterId,
    // Whether sockets read through the shared buffer; off (with the reason) when the start-up self-test failed.
    pooledReads: pooledReadsStatus(),
  };
}
