// `l4mesh runtime` (hidden; started by `l4mesh up`): runs Deployments as local processes until SIGTERM.
import { parseArgs } from 'node:util';
import { LocalRuntime } from '../localrun/runtime.js';
import { Logger } from '../logging/logger.js';
import { openContext, runCommand } from './cli-context.js';

const HELP = `usage: l4mesh runtime [--state-dir DIR]

The local runtime (started by "l4mesh up"): keeps the pods of every Deployment running as processes.
On SIGTERM it stops every pod (SIGTERM, then SIGKILL after the grace period) and exits; the Pod
resources stay, so the next runtime restarts the same pods with the same names and IPs.
`;

export async function run(args: string[]): Promise<number> {
  return runCommand('runtime', HELP, args, async () => {
    const { values } = parseArgs({ args, options: { 'state-dir': { type: 'string' } }, strict: true });
    const ctx = await openContext(values['state-dir']);
    const log = new Logger('runtime');
    const runtime = new LocalRuntime(ctx.stateDir, ctx.layout, ctx.client, log);
    await runtime.start();
    log.info('local runtime started', { stateDir: ctx.stateDir, controlPlane: ctx.client.address });
    await new Promise<void>((resolve) => {
      const stop = (signal: string) => {
        log.info('stopping pods', { signal });
        runtime.stop().then(resolve, resolve);
      };
      process.once('SIGTERM', () => stop('SIGTERM'));
      process.once('SIGINT', () => stop('SIGINT'));
    });
    log.info('local runtime stopped');
    return 0;
  });
}
