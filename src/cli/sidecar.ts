// `l4mesh sidecar --workload NS/POD`: runs the proxy of one workload in sidecar mode.
import { INBOUND_PORT, PROXY_ADMIN_PORT, PROXY_METRICS_PORT, PROXY_READINESS_PORT } from '../config/mesh-constants.js';
import { PROXY_OPTIONS_HELP } from '../dataplane/proxy/proxy-options.js';
import { sidecarConfig, SIDECAR_ENV } from '../sidecar/config.js';
import { Sidecar } from '../sidecar/sidecar.js';
import { Logger } from '../logging/logger.js';

const HELP = `usage: l4mesh sidecar --workload NAMESPACE/POD [options]

Runs the proxy of one workload (a Pod labelled sidecar.istio.io/inject: "true") on the pod's IP:
${INBOUND_PORT} inbound mutual TLS with istio-peer-exchange, ${PROXY_METRICS_PORT} metrics, ${PROXY_READINESS_PORT} readiness, ${PROXY_ADMIN_PORT} admin, and
outbound listeners for the services the workload may reach (published at :${PROXY_ADMIN_PORT}/capture).
Peers dial :${INBOUND_PORT} with the TLS server name outbound_.<service port>_.<subset>_.<service hostname>;
the sidecar forwards to its pod IP at that service port's target port.

options:
  --workload NS/POD           the Pod this sidecar serves (required)
  --address IP                pod IP to bind (env ${SIDECAR_ENV.podIp})
  --node NAME                 the pod's node: its token obtains the certificate (env ${SIDECAR_ENV.node})
  --capture-range CIDR        a /24 (or larger) for the outbound listeners (required)
  --label KEY=VALUE           a label to announce in the peer metadata on top of the registry's (repeatable)
${PROXY_OPTIONS_HELP}`;

export async function run(args: string[]): Promise<number> {
  try {
    const config = sidecarConfig(args);
    if (config === 'help') {
      process.stdout.write(HELP);
      return 0;
    }
    const log = new Logger('sidecar', config.logLevel);
    let quit: () => void = () => {};
    const done = new Promise<void>((resolve) => (quit = resolve));
    const sidecar = new Sidecar(config, log, () => quit());
    await sidecar.start();
    process.once('SIGTERM', () => quit());
    process.once('SIGINT', () => quit());
    await done;
    await sidecar.stop();
    return 0;
  } catch (err) {
    const e = err as Error & { code?: string };
    process.stderr.write(`l4mesh sidecar: ${e.message}\n`);
    return e.code === 'L4MESH_ERR_CONFIG' || e.code?.startsWith('ERR_PARSE_ARGS') ? 2 : 1;
  }
}
