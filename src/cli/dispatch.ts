// Subcommand table. Each subcommand lives in its own file and exports `run(args): Promise<number>`.
import { didYouMean } from './suggest.js';
import { CONTROL_PLANE_GRPC_PORT, CONTROL_PLANE_HTTP_PORT, HBONE_PORT, INBOUND_PORT, PROXY_ADMIN_PORT, PROXY_METRICS_PORT } from '../config/mesh-constants.js';

type Runner = (args: string[]) => Promise<number>;

const COMMANDS: Record<string, { summary: string; load: () => Promise<Runner>; hidden?: boolean }> = {
  'control-plane': {
    summary: `run the control plane (xDS + CA on :${CONTROL_PLANE_GRPC_PORT}, HTTP API on :${CONTROL_PLANE_HTTP_PORT}); "token create --node N" mints a node token`,
    load: async () => (await import('./control-plane.js')).run,
  },
  ztunnel: {
    summary: `run a node proxy (HBONE :${HBONE_PORT}, metrics :${PROXY_METRICS_PORT}, admin :${PROXY_ADMIN_PORT}) for one node`,
    load: async () => (await import('./ztunnel.js')).run,
  },
  sidecar: {
    summary: `run the proxy of one workload in sidecar mode (mTLS + istio-peer-exchange on :${INBOUND_PORT})`,
    load: async () => (await import('./sidecar.js')).run,
  },
  waypoint: {
    summary: 'run a waypoint (L7 routing, HTTP metrics) for a namespace; "waypoint apply -n NS" creates one locally',
    load: async () => (await import('./waypoint.js')).run,
  },
  up: {
    summary: 'start the local mesh in the background (control plane, node proxies, runtime)',
    load: async () => (await import('./up.js')).run,
  },
  down: {
    summary: 'stop everything "up" started (pods included); --purge removes the state dir',
    load: async () => (await import('./down.js')).run,
  },
  status: {
    summary: "show the local mesh's components and their health",
    load: async () => (await import('./status.js')).run,
  },
  apply: {
    summary: 'create or update resources from files (-f FILE|DIR|-), kubectl-style',
    load: async () => (await import('./apply.js')).run,
  },
  get: {
    summary: 'list resources (get pods, get svc -o wide, get dr NAME -o yaml)',
    load: async () => (await import('./get.js')).run,
  },
  delete: {
    summary: 'delete resources (-f FILE or KIND NAME)',
    load: async () => (await import('./delete.js')).run,
  },
  describe: {
    summary: 'show a pod or deployment with its events: describe pod|deploy NAME (exit codes, spawn errors, probes)',
    load: async () => (await import('./describe.js')).run,
  },
  exec: {
    summary: 'run a command as a workload (its env and outbound addresses): exec deploy/NAME -- CMD',
    load: async () => (await import('./exec.js')).run,
  },
  logs: {
    summary: 'print pod logs (POD, deploy/NAME, -l SELECTOR) or node proxy logs (ztunnel)',
    load: async () => (await import('./logs.js')).run,
  },
  'ztunnel-config': {
    summary: "show a node proxy's workloads, services, policies, certificates, connections",
    load: async () => (await import('./ztunnel-config.js')).run,
  },
  'proxy-status': {
    summary: 'every proxy, its node, last xDS push and certificate expiry',
    load: async () => (await import('./proxy-status.js')).run,
  },
  check: {
    summary: 'why can A reach B or not: check connectivity FROM TO, hop by hop with the cause of a failure',
    load: async () => (await import('./check.js')).run,
  },
  analyze: {
    summary: 'check the stored configuration for mistakes, istioctl-analyze style (exit 79 when found)',
    load: async () => (await import('./analyze.js')).run,
  },
  dashboard: {
    summary: "the mesh console: live service graph on :20001 (dashboard), or Prometheus (dashboard prometheus)",
    load: async () => (await import('./dashboard.js')).run,
  },
  runtime: {
    summary: 'run Deployments as local processes (started by "up")',
    load: async () => (await import('./runtime.js')).run,
    hidden: true,
  },
};

function usage(): string {
  const lines = ['usage: l4mesh <command> [options]', '', 'commands:'];
  for (const [name, c] of Object.entries(COMMANDS)) if (!c.hidden) lines.push(`  ${name.padEnd(16)} ${c.summary}`);
  lines.push('', 'Run "l4mesh <command> --help" for the options of a command.');
  return lines.join('\n');
}

export async function runCli(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (!name || name === '--help' || name === '-h' || name === 'help') {
    process.stdout.write(usage() + '\n');
    return name ? 0 : 2;
  }
  const command = Object.hasOwn(COMMANDS, name) ? COMMANDS[name] : undefined;
  if (!command) {
    // Like kubectl: one line naming the nearest command, not the whole help.
    const visible = Object.entries(COMMANDS).filter(([, c]) => !c.hidden).map(([n]) => n);
    process.stderr.write(`error: unknown command "${name}"${didYouMean(name, visible)}\nRun "l4mesh --help" for the commands.\n`);
    return 2;
  }
  return (await command.load())(rest);
}
