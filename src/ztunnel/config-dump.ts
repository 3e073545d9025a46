// The node proxy's /config_dump (DESIGN §7): what it holds from xDS, its certificates and its settings.
import { certificatesDump, commonSettingsDump, meshDump } from '../dataplane/proxy/config-dump.js';
import type { NodeProxy } from './node-proxy.js';

export function configDump(proxy: NodeProxy) {
  const { state, config } = proxy;
  return {
    ...meshDump(state),
    certificates: certificatesDump(proxy.certificateStatus()),
    config: {
      node: config.node,
      proxy: `${config.proxyName}.${config.proxyNamespace}`,
      ...commonSettingsDump(config),
      startedAt: proxy.uptimeSince.toISOString(),
    },
  };
}
