// `l4mesh proxy-status`: every proxy connected to the control plane, its node, last xDS push and when its
// first leaf certificate expires.
import { parseArgs } from 'node:util';
import { fetchConfigDump } from '../localrun/node-admin.js';
import { formatAge, formatTable, openContext, runCommand } from './cli-context.js';

const HELP = `usage: l4mesh proxy-status [--state-dir DIR]

Lists every proxy connected to the control plane (from /debug/syncz): NAME NODE ADDRESS LAST PUSH CERT EXPIRY.
LAST PUSH is how long ago xDS last sent it changes; CERT EXPIRY the soonest leaf certificate expiry (from
the proxy's /config_dump). With several replicas ("up --ha") an ISTIOD column names the replica each
proxy streams xDS from, as istioctl's does.
`;

interface Sync {
  proxy: string;
  nodeId: string;
  lastPushAt: string | null;
}

export async function run(args: string[]): Promise<number> {
  return runCommand('proxy-status', HELP, args, async () => {
    const { values } = parseArgs({ args, options: { 'state-dir': { type: 'string' } }, strict: true });
    const ctx = await openContext(values['state-dir']);
    const ha = ctx.layout.ha !== undefined;
    const syncs = (await ctx.client.debugEach<Sync[]>('/debug/syncz')).flatMap(({ address, body }) => body.map((s) => ({ ...s, replica: address })));
    const rows: string[][] = [];
    for (const s of [...syncs].sort((a, b) => a.proxy.localeCompare(b.proxy) || a.replica.localeCompare(b.replica))) {
      const address = s.nodeId.split('~')[1] ?? '';
      const name = s.proxy.replace(/\.istio-system$/, '');
      const node = name.startsWith('ztunnel-') ? name.slice('ztunnel-'.length) : '-';
      let expiry = '-';
      try {
        const dump = await fetchConfigDump(address);
        const times = dump.certificates.flatMap((c) => (c.certChain[0] ? [c.certChain[0].expirationTime] : [])).sort();
        if (times[0]) expiry = times[0].replace(/\.\d{3}Z$/, 'Z');
      } catch {
        expiry = 'unreachable';
      }
      const row = [s.proxy, node, address, s.lastPushAt ? `${formatAge(s.lastPushAt)} ago` : 'never', expiry];
      // The replica's gRPC address, as proxies name it in --control-plane.
      if (ha) row.push(`${s.replica.slice(0, s.replica.lastIndexOf(':'))}:${ctx.layout.grpcPort}`);
      rows.push(row);
    }
    process.stdout.write(formatTable(['NAME', 'NODE', 'ADDRESS', 'LAST PUSH', 'CERT EXPIRY', ...(ha ? ['ISTIOD'] : [])], rows));
    return 0;
  });
}
