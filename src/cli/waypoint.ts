// `l4mesh waypoint --namespace NS`: runs a waypoint proxy; `l4mesh waypoint apply -n NS [--name N]`
// creates one in local mode (ServiceAccount, Service, Deployment running `l4mesh waypoint`, namespace label).
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { stringify } from 'yaml';
import { kindByName } from '../api/kinds.js';
import { formatDuration } from '../api/derive.js';
import { CONTROL_PLANE_HTTP_PORT, DEFAULT_TRUST_DOMAIN, HBONE_PORT, PROXY_METRICS_PORT } from '../config/mesh-constants.js';
import { DEFAULT_STATE_DIR_TEXT, packageRoot } from '../config/paths.js';
import { controlPlaneAddresses } from '../localrun/layout.js';
import { LABEL_DATAPLANE_MODE } from '../api/labels.js';
import { FABRIC_CONTROL_PLANE_IP } from '../dataplane/capture/netns/plan.js';
import {
  DEFAULT_CONTROL_PLANE,
  DEFAULT_LOG_FORMAT,
  DEFAULT_LOG_LEVEL,
  NODE_TOKEN_FILE_TEXT,
  ROOT_CERT_FILE_TEXT,
} from '../dataplane/proxy/proxy-options.js';
import { Logger } from '../logging/logger.js';
import { DEFAULT_HBONE_TARGET, DEFAULT_WAYPOINT_NAME, DEFAULT_WAYPOINT_SERVICE_ACCOUNT, ENV, waypointConfig } from '../waypoint/config.js';
import { Waypoint } from '../waypoint/waypoint.js';
import { DEFAULT_ROUTES_POLL_INTERVAL_MS } from '../waypoint/routes-client.js';

const HELP = `usage: l4mesh waypoint --namespace NS [options]
       l4mesh waypoint apply -n NS [--name waypoint] [--state-dir DIR]

Runs a waypoint: accepts HBONE on <address>:${HBONE_PORT} for the services of NS that use it (label
istio.io/use-waypoint), applies VirtualService/DestinationRule routing to HTTP requests, and reports
istio_requests_total and the istio_request_* histograms (reporter="waypoint") on :${PROXY_METRICS_PORT}.
"apply" creates the waypoint in local mode: a ServiceAccount, Service and Deployment named after it,
and labels the namespace so its services use it.

options:
  -n, --namespace NS          namespace served (env ${ENV.podNamespace})
  --name NAME                 waypoint name (default ${DEFAULT_WAYPOINT_NAME})
  --address IP                address to bind (env ${ENV.podIp})
  --node NAME                 node the waypoint pod runs on; its token is used (env ${ENV.node})
  --service-account SA        identity's service account (env ${ENV.serviceAccount}, default ${DEFAULT_WAYPOINT_SERVICE_ACCOUNT})
  --trust-domain TD           trust domain of the waypoint's identity: the control plane's
                              (env ${ENV.trustDomain}, default ${DEFAULT_TRUST_DOMAIN})
  --control-plane HOST:PORT   xDS + CA (env ${ENV.controlPlane}, default ${DEFAULT_CONTROL_PLANE})
  --control-plane-http H:P    routes API (default the control plane host, port ${CONTROL_PLANE_HTTP_PORT})
  --token-file FILE           node token (default ${NODE_TOKEN_FILE_TEXT})
  --root-cert FILE            mesh root (default ${ROOT_CERT_FILE_TEXT})
  --state-dir DIR             (env ${ENV.stateDir}, default ${DEFAULT_STATE_DIR_TEXT})
  --log-format text|json      access log format (default ${DEFAULT_LOG_FORMAT})
  --log-level LEVEL           error, warn, info, debug, trace (default ${DEFAULT_LOG_LEVEL})
  --routes-poll-interval D    how often routes are re-read (default ${formatDuration(DEFAULT_ROUTES_POLL_INTERVAL_MS)})
  --hbone-target node|pod     tunnel to an endpoint's node proxy (local mode) or to its pod IP, where
                              netns mode's node proxy listens (default ${DEFAULT_HBONE_TARGET})
`;

/** The label Istio's waypoint Deployment and Service select on. */
export const GATEWAY_NAME_LABEL = 'gateway.networking.k8s.io/gateway-name';

/** The resources `waypoint apply` writes, as one multi-document manifest. */
export function waypointManifest(opts: { namespace: string; name: string; stateDir: string; controlPlane?: string; namespaceLabels?: Record<string, string>; netns?: boolean }): string {
  const { namespace, name } = opts;
  const labels = { [GATEWAY_NAME_LABEL]: name, 'gateway.istio.io/managed': 'istio.io-mesh-controller' };
  const command = [join(packageRoot(), 'bin', 'l4mesh'), 'waypoint', '--namespace', namespace, '--name', name, '--state-dir', opts.stateDir];
  if (opts.controlPlane) command.push('--control-plane', opts.controlPlane);
  // netns mode: the waypoint's own traffic is never captured (Istio labels its gateway pods so), and it
  // tunnels to pod IPs, where the node proxies take HBONE inside each pod's namespace.
  if (opts.netns) command.push('--hbone-target', 'pod');
  const podLabels = opts.netns ? { ...labels, [LABEL_DATAPLANE_MODE]: 'none' } : labels;
  const docs = [
    { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: DEFAULT_WAYPOINT_SERVICE_ACCOUNT, namespace } },
    {
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name, namespace, labels },
      spec: { selector: { [GATEWAY_NAME_LABEL]: name }, ports: [{ name: 'mesh', port: HBONE_PORT, protocol: 'TCP' }] },
    },
    {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name, namespace, labels },
      spec: {
        replicas: 1,
        selector: { matchLabels: { [GATEWAY_NAME_LABEL]: name } },
        template: {
          metadata: { labels: podLabels },
          spec: { serviceAccountName: DEFAULT_WAYPOINT_SERVICE_ACCOUNT, containers: [{ name: 'istio-proxy', image: 'l4mesh', command }] },
        },
      },
    },
    { apiVersion: 'v1', kind: 'Namespace', metadata: { name: namespace, labels: { ...opts.namespaceLabels, 'istio.io/use-waypoint': name } } },
  ];
  return docs.map((d) => stringify(d)).join('---\n');
}

async function apply(args: string[]): Promise<number> {
  const { openContext, runCommand } = await import('./cli-context.js');
  return runCommand('waypoint apply', HELP, args, async () => {
    const { values } = parseArgs({
      args,
      options: { namespace: { type: 'string', short: 'n' }, name: { type: 'string' }, 'state-dir': { type: 'string' } },
      strict: true,
    });
    const namespace = values.namespace ?? 'default';
    const name = values.name ?? DEFAULT_WAYPOINT_NAME;
    const ctx = await openContext(values['state-dir']);
    const netns = ctx.layout.mode === 'netns';
    // A netns pod cannot reach the host's loopback: the control plane also listens for pods in the fabric.
    const controlPlane = netns ? `${FABRIC_CONTROL_PLANE_IP}:${ctx.layout.grpcPort}` : controlPlaneAddresses(ctx.layout, ctx.layout.grpcPort);
    // The Namespace is applied whole: keep the labels it already has.
    const existing = await ctx.client.get(kindByName('Namespace')!, '', namespace);
    const namespaceLabels = existing?.metadata.labels ?? {};
    await ctx.client.apply(waypointManifest({ namespace, name, stateDir: ctx.stateDir, controlPlane, namespaceLabels, netns }));
    process.stdout.write(`waypoint ${namespace}/${name} applied\nnamespace/${namespace} labeled with "istio.io/use-waypoint: ${name}"\n`);
    return 0;
  });
}

export async function run(args: string[]): Promise<number> {
  if (args[0] === 'apply') return apply(args.slice(1));
  try {
    const config = waypointConfig(args);
    if (config === 'help') {
      process.stdout.write(HELP);
      return 0;
    }
    const log = new Logger('waypoint', config.logLevel);
    let quit: () => void = () => {};
    const done = new Promise<void>((resolve) => (quit = resolve));
    const waypoint = new Waypoint(config, log, () => quit());
    await waypoint.start();
    process.once('SIGTERM', () => quit());
    process.once('SIGINT', () => quit());
    await done;
    await waypoint.stop();
    return 0;
  } catch (err) {
    const e = err as Error & { code?: string };
    process.stderr.write(`l4mesh waypoint: ${e.message}\n`);
    return e.code === 'L4MESH_ERR_CONFIG' || e.code?.startsWith('ERR_PARSE_ARGS') ? 2 : 1;
  }
}
