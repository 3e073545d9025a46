// `l4mesh logs POD|deploy/NAME|ztunnel [-l SELECTOR] [-f] [--tail N] [--node N]`: pod logs from the state
// dir, or the node proxies' logs (`ztunnel`, like `kubectl -n istio-system logs -l app=ztunnel`).
import { existsSync, readdirSync, statSync } from 'node:fs';
import { open, readFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { kindByName } from '../api/kinds.js';
import { L4meshError } from '../errors/index.js';
import { componentLogFile } from '../config/state-layout.js';
import { ztunnelName } from '../localrun/components.js';
import { podLogDir, podLogFile, previousLogFile } from '../localrun/pod-processes.js';
import { openContext, runCommand, UsageError } from './cli-context.js';
import { resolvePods } from './pod-target.js';

const HELP = `usage: l4mesh logs POD|deploy/NAME [-c CONTAINER] [-n NAMESPACE] [-f] [--tail N] [-p]
       l4mesh logs -l SELECTOR [-n NAMESPACE] [-f] [--tail N]
       l4mesh logs ztunnel [--node node-K] [-f] [--tail N]

Prints what the containers wrote to stdout/stderr (kept in <state>/pods/<ns>/<pod>/<container>.log), or
with "ztunnel" the node proxies' logs (access lines included; <state>/logs/ztunnel-node-K.log).
-f keeps following until Ctrl-C. -p/--previous prints the previous instance of a restarted container
(what it wrote before it crashed). A container that could not start has the reason in its log
("l4mesh: Error: cannot start container ..."); "l4mesh describe pod POD" shows its events.
`;

/** How often -f looks for new bytes. */
const FOLLOW_POLL_MS = 250;

function lastLines(text: string, tail: number | undefined): string {
  if (tail === undefined || tail < 0) return text;
  const lines = text.split('\n');
  if (lines[lines.length - 1] === '') lines.pop();
  return lines.slice(Math.max(0, lines.length - tail)).map((l) => l + '\n').join('');
}

async function follow(files: string[], prefix: boolean): Promise<void> {
  const offsets = new Map<string, number>();
  for (const f of files) offsets.set(f, existsSync(f) ? statSync(f).size : 0);
  let stop = false;
  process.once('SIGINT', () => (stop = true));
  process.once('SIGTERM', () => (stop = true));
  while (!stop) {
    for (const f of files) {
      if (!existsSync(f)) continue;
      const h = await open(f, 'r');
      try {
        const size = (await h.stat()).size;
        // Smaller than read so far: the container restarted and its log began anew.
        if (size < offsets.get(f)!) offsets.set(f, 0);
        const from = offsets.get(f)!;
        if (size > from) {
          const buf = Buffer.alloc(size - from);
          await h.read(buf, 0, buf.length, from);
          offsets.set(f, size);
          process.stdout.write(prefix ? withPrefix(buf.toString(), f) : buf);
        }
      } finally {
        await h.close();
      }
    }
    await new Promise((r) => setTimeout(r, FOLLOW_POLL_MS));
  }
}

function withPrefix(text: string, file: string): string {
  const name = file.split('/').slice(-2).join('/').replace(/\.log$/, '');
  return text.replace(/^(?=.)/gm, `[${name}] `);
}

export async function run(args: string[]): Promise<number> {
  return runCommand('logs', HELP, args, async () => {
    const { values, positionals } = parseArgs({
      args,
      options: {
        namespace: { type: 'string', short: 'n' },
        selector: { type: 'string', short: 'l' },
        container: { type: 'string', short: 'c' },
        follow: { type: 'boolean', short: 'f' },
        tail: { type: 'string' },
        previous: { type: 'boolean', short: 'p' },
        node: { type: 'string' },
        'state-dir': { type: 'string' },
      },
      allowPositionals: true,
      strict: true,
    });
    const tail = values.tail === undefined ? undefined : Number(values.tail);
    if (tail !== undefined && !Number.isInteger(tail)) throw new UsageError(`--tail: "${values.tail}" is not a number`);
    const ns = values.namespace ?? 'default';
    const ctx = await openContext(values['state-dir']);
    let files: string[];
    if (positionals[0] === 'ztunnel' || positionals[0] === 'ztunnels' || values.selector === 'app=ztunnel') {
      const nodes = Array.from({ length: ctx.layout.nodes }, (_, i) => `node-${i + 1}`);
      if (values.node && !nodes.includes(values.node)) throw new UsageError(`--node ${values.node}: this mesh has ${nodes.join(', ')}`);
      files = (values.node ? [values.node] : nodes).map((n) => componentLogFile(ctx.stateDir, ztunnelName(Number(n.slice(5)))));
    } else {
      let pods;
      if (values.selector) pods = await ctx.client.list(kindByName('Pod')!, ns, values.selector);
      else if (positionals.length === 1) {
        pods = await resolvePods(ctx, positionals[0]!, ns);
        // A Deployment's logs are one pod's, as kubectl picks one.
        if (positionals[0]!.includes('/') || pods.length > 1) pods = pods.slice(0, 1);
      } else throw new UsageError('give a pod, deploy/NAME, -l SELECTOR or "ztunnel"');
      if (pods.length === 0) throw new L4meshError('L4MESH_ERR_NOT_FOUND', `no pods match "${values.selector}" in namespace "${ns}"`);
      files = [];
      for (const p of pods) {
        const dir = podLogDir(ctx.stateDir, ns, p.metadata.name);
        const names = values.container
          ? [values.container]
          : existsSync(dir)
            ? readdirSync(dir).filter((f) => f.endsWith('.log') && !f.endsWith('.previous.log')).map((f) => f.slice(0, -4)).sort()
            : [];
        for (const c of names) {
          const current = podLogFile(ctx.stateDir, ns, p.metadata.name, c);
          if (!values.previous) files.push(current);
          else if (existsSync(previousLogFile(current))) files.push(previousLogFile(current));
          else throw new L4meshError('L4MESH_ERR_NOT_FOUND', `previous terminated container "${c}" in pod "${p.metadata.name}" not found`);
        }
      }
    }
    // Lines of several pods are told apart by a [pod/container] prefix, as kubectl --prefix does.
    const prefix = files.length > 1 && Boolean(values.selector);
    for (const f of files) {
      const part = lastLines(existsSync(f) ? await readFile(f, 'utf8') : '', tail);
      process.stdout.write(prefix ? withPrefix(part, f) : part);
    }
    if (values.follow) await follow(files, prefix);
    return 0;
  });
}
