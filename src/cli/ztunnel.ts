// `l4mesh ztunnel --node NAME`: runs a node proxy.
import { HBONE_PORT, LOCAL_NODE_ADDRESS_PREFIX, PROXY_ADMIN_PORT, PROXY_METRICS_PORT, PROXY_READINESS_PORT } from '../config/mesh-constants.js';
import { PROXY_OPTIONS_HELP } from '../dataplane/proxy/proxy-options.js';
import { ztunnelConfig } from '../ztunnel/config.js';
import { NodeProxy } from '../ztunnel/node-proxy.js';
import { Logger } from '../logging/logger.js';

const HELP = `usage: l4mesh ztunnel --node NAME [options]

Runs a node proxy: carries the TCP connections of the workloads on NAME over HBONE (mTLS) and
reports istio_tcp_* metrics. Listens on its own address: ${HBONE_PORT} HBONE, ${PROXY_METRICS_PORT} metrics,
${PROXY_READINESS_PORT} readiness, ${PROXY_ADMIN_PORT} admin.

options:
  --node NAME                 node this proxy serves (required)
  --address IP                address to bind (default ${LOCAL_NODE_ADDRESS_PREFIX}.<k> for node-<k>)
  --capture-range CIDR        outbound listener addresses (default 127.(64+k).0.0/16 for node-<k>)
${PROXY_OPTIONS_HELP}`;

export async function run(args: string[]): Promise<number> {
  try {
    const config = ztunnelConfig(args);
    if (config === 'help') {
      process.stdout.write(HELP);
      return 0;
    }
    const log = new Logger('ztunnel', config.logLevel);
    let quit: () => void = () => {};
    const done = new Promise<void>((resolve) => (quit = resolve));
    const proxy = new NodeProxy(config, log, () => quit());
    await proxy.start();
    process.once('SIGTERM', () => quit());
    process.once('SIGINT', () => quit());
    await done;
    await proxy.stop();
    return 0;
  } catch (err) {
    const e = err as Error & { code?: string };
    process.stderr.write(`l4mesh ztunnel: ${e.message}\n`);
    return e.code === 'L4MESH_ERR_CONFIG' || e.code?.startsWith('ERR_PARSE_ARGS') ? 2 : 1;
  }
}
