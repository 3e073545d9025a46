// The sidecar's /config_dump (DESIGN §7): what it holds from xDS, its workload's certificate, its settings.
import { certificatesDump, commonSettingsDump, meshDump } from '../dataplane/proxy/config-dump.js';
import type { ProxyDumpInput } from '../dataplane/proxy/proxy-runtime.js';
import type { MxStats } from '../dataplane/mx/stats.js';
import type { SidecarConfig } from './config.js';

export interface SidecarDumpInput extends ProxyDumpInput {
  config: SidecarConfig;
  nodeId: string;
  mxStats: MxStats;
}

export function sidecarConfigDump({ state, certificates, startedAt, config, nodeId, mxStats }: SidecarDumpInput) {
  return {
    ...meshDump(state),
    certificates: certificatesDump(certificates),
    config: {
      role: 'sidecar',
      workload: `${config.namespace}/${config.pod}`,
      node: config.node,
      nodeId,
      ...commonSettingsDump(config),
      extraLabels: config.extraLabels,
      startedAt: startedAt.toISOString(),
    },
    metadataExchange: { ...mxStats },
  };
}
