// The sidecar's /config_dump (DESIGN §7): what it holds from xDS, its workload's certificate, its settings.
import { certificatesDump, commonSettingsDump, meshDump } from '../dataplane/proxy/config-dump.js';
import type { Sidecar } from './sidecar.js';

export function sidecarConfigDump(sidecar: Sidecar) {
  const { state, config } = sidecar;
  return {
    ...meshDump(state),
    certificates: certificatesDump(sidecar.certificateStatus()),
    config: {
      role: 'sidecar',
      workload: `${config.namespace}/${config.pod}`,
      node: config.node,
      nodeId: sidecar.nodeId,
      ...commonSettingsDump(config),
      extraLabels: config.extraLabels,
      startedAt: sidecar.startedAt.toISOString(),
    },
    metadataExchange: { ...sidecar.mxStats },
  };
}
