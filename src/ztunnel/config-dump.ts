// The node proxy's /config_dump (DESIGN §7): what it holds from xDS, its certificates and its settings.
import { certificatesDump, commonSettingsDump, meshDump } from '../dataplane/proxy/config-dump.js';
import type { ProxyDumpInput } from '../dataplane/proxy/proxy-runtime.js';
import type { ZtunnelConfig } from './config.js';

/** `captureMode`: how workloads' connections reach this proxy (`l4mesh check` shows it on the capture hop). */
export function configDump({ state, certificates, startedAt, xdsConnectedTo, config, captureMode }: ProxyDumpInput & { config: ZtunnelConfig; captureMode: 'local' | 'netns' }) {
  return {
    ...meshDump(state),
    // Which of the --control-plane replicas this proxy streams from now (null while reconnecting).
    xds: { connectedTo: xdsConnectedTo ?? null },
    certificates: certificatesDump(certificates),
    config: {
      node: config.node,
      proxy: `${config.proxyName}.${config.proxyNamespace}`,
      captureMode,
      ...commonSettingsDump(config),
      startedAt: startedAt.toISOString(),
    },
  };
}
