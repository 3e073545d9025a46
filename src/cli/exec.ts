// `l4mesh exec TARGET -- CMD...`: runs CMD as a pod would run, with its POD_* and service env vars, so its
// connections leave through that pod's outbound listeners (netns mode: inside the pod's network namespace,
// where they are captured) and carry its identity.
import { spawn } from 'node:child_process';
import { parseArgs } from 'node:util';
import { nodeAddress } from '../localrun/layout.js';
import { fetchCapture, fetchConfigDump } from '../localrun/node-admin.js';
import { podEnv, serviceVipMappings, type EnvVar } from '../localrun/pod-env.js';
import { inPodArgv, podNetns } from '../localrun/netns-network.js';
import { openContext, runCommand, UsageError } from './cli-context.js';
import { resolvePods } from './pod-target.js';

const HELP = `usage: l4mesh exec POD|deploy/NAME|DEPLOYMENT [-n NAMESPACE] [-c CONTAINER] -- CMD [ARGS...]

Runs CMD here with the environment of the pod (POD_NAME, POD_IP, SERVICE_ACCOUNT, <SERVICE>_SERVICE_HOST
and _PORT, the container's env), stdin/stdout/stderr attached; exits with CMD's exit code. For a
Deployment, its first ready pod is used. Example:
  l4mesh exec deploy/curl -- sh -c 'curl -s http://$PRODUCTPAGE_SERVICE_HOST:$PRODUCTPAGE_SERVICE_PORT/'
In a netns-mode mesh CMD runs inside the pod's network namespace and needs nothing of the mesh:
  l4mesh exec deploy/sleep -- curl -s http://productpage:9080/productpage
`;

export async function run(args: string[]): Promise<number> {
  const dash = args.indexOf('--');
  const own = dash >= 0 ? args.slice(0, dash) : args;
  const cmd = dash >= 0 ? args.slice(dash + 1) : [];
  return runCommand('exec', HELP, own, async () => {
    const { values, positionals } = parseArgs({
      args: own,
      options: { namespace: { type: 'string', short: 'n' }, container: { type: 'string', short: 'c' }, 'state-dir': { type: 'string' } },
      allowPositionals: true,
      strict: true,
    });
    if (positionals.length !== 1) throw new UsageError('give exactly one target: l4mesh exec deploy/NAME -- CMD');
    if (cmd.length === 0) throw new UsageError('no command: put it after "--", e.g. l4mesh exec deploy/client -- env');
    const ctx = await openContext(values['state-dir']);
    const pod = (await resolvePods(ctx, positionals[0]!, values.namespace ?? 'default'))[0]!;
    const node = String((pod.spec as Record<string, unknown>)['nodeName'] ?? '');
    const k = Number(/^node-(\d+)$/.exec(node)?.[1] ?? NaN);
    const netns = podNetns(pod);
    // netns mode: the services' VIPs, as a cluster's env has them; local mode: this pod's outbound listeners.
    const mappings = !Number.isInteger(k) ? []
      : netns ? serviceVipMappings((await fetchConfigDump(nodeAddress(ctx.layout, k))).services, pod)
        : await fetchCapture(nodeAddress(ctx.layout, k));
    const containers = ((pod.spec as Record<string, unknown>)['containers'] as Array<{ name: string; env?: EnvVar[] }> | undefined) ?? [];
    const container = values.container ? containers.find((c) => c.name === values.container) : containers[0];
    if (values.container && !container) throw new UsageError(`pod ${pod.metadata.name} has no container "${values.container}" (has: ${containers.map((c) => c.name).join(', ')})`);
    const env = { ...process.env, ...podEnv(pod, mappings, container?.env ?? []) };
    // netns mode: inside the pod's network namespace (and its resolv.conf), where its traffic is captured.
    const argv = netns ? inPodArgv(netns, cmd) : cmd;
    const child = spawn(argv[0]!, argv.slice(1), { env, stdio: 'inherit' });
    return new Promise<number>((resolve) => {
      child.once('error', (err) => {
        process.stderr.write(`error: cannot run ${cmd[0]}: ${err.message}\n`);
        resolve(127);
      });
      child.once('exit', (code, signal) => resolve(code ?? (signal ? 128 + (signal === 'SIGKILL' ? 9 : 15) : 1)));
    });
  });
}
