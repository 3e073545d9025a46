// `l4mesh describe pod|deploy NAME [-n NS]`: kubectl's describe for the local runtime — the pod's containers
// (state, last exit code, restarts, probe) and its events (scheduled, started, exits, spawn errors, probe failures).
import { parseArgs } from 'node:util';
import { kindByName } from '../api/kinds.js';
import type { Resource } from '../api/types.js';
import { L4meshError } from '../errors/index.js';
import { deploymentEventsFile, eventSeries, podEventsFile, readEvents, type PodEvent } from '../localrun/pod-events.js';
import { podLogFile } from '../localrun/pod-processes.js';
import { ANNOTATION_WORKING_DIR, ANNOTATION_WORKLOAD_KIND, ANNOTATION_WORKLOAD_NAME } from '../localrun/pod-naming.js';
import { formatAge, formatTable, openContext, runCommand, UsageError, type CliContext } from './cli-context.js';
import { kindOrThrow, pluralName } from './delete.js';
import { podReady } from './get-columns.js';

const HELP = `usage: l4mesh describe pod|deploy NAME [-n NAMESPACE]
       l4mesh describe pod/NAME | deploy/NAME [-n NAMESPACE]

Shows a pod (containers: command, working dir, state, last exit code, restarts, readiness probe, log file)
or a Deployment (replicas, template, its pods) with the events the local runtime recorded: Scheduled,
Started, Error (exit code or signal), Failed (the command could not start), BackOff, Unhealthy
(readiness probe failed), Killing; a Deployment's include SuccessfulCreate/SuccessfulDelete and its pods'.
`;

const POD = kindByName('Pod')!;

type Obj = Record<string, unknown>;

/** kubectl's key: value block, values aligned at one column. */
function fields(rows: Array<[string, string]>, indent = ''): string {
  const width = Math.max(...rows.map(([k]) => k.length + 1)) + 2;
  return rows.map(([k, v]) => `${indent}${(k + ':').padEnd(width)}${v}`.trimEnd() + '\n').join('');
}

function mapText(m: Record<string, string> | undefined, indent: number): string {
  const entries = Object.entries(m ?? {}).sort(([a], [b]) => a.localeCompare(b));
  if (entries.length === 0) return '<none>';
  return entries.map(([k, v], i) => (i === 0 ? '' : ' '.repeat(indent)) + `${k}=${v}`).join('\n');
}

function eventsText(events: PodEvent[], now: number, prefix = (e: PodEvent) => e.message): string {
  const series = eventSeries(events);
  if (series.length === 0) return 'Events:  <none>\n';
  const rows = series.map((s) => {
    const age = s.count > 1 ? `${formatAge(s.time, now)} (x${s.count} over ${formatAge(s.firstTime, Date.parse(s.time))})` : formatAge(s.time, now);
    return [s.type, s.reason, age, 'l4mesh-runtime', prefix(s)];
  });
  const table = formatTable(['Type', 'Reason', 'Age', 'From', 'Message'], [['----', '------', '----', '----', '-------'], ...rows]);
  return 'Events:\n' + table.replace(/^(?=.)/gm, '  ');
}

function probeText(c: Obj): string | undefined {
  const p = c['readinessProbe'] as { tcpSocket?: { port: unknown }; httpGet?: { port: unknown; path?: string } } | undefined;
  if (p?.tcpSocket) return `tcp-socket :${String(p.tcpSocket.port)}`;
  if (p?.httpGet) return `http-get http://:${String(p.httpGet.port)}${p.httpGet.path ?? '/'}`;
  const port = (c['ports'] as Array<{ containerPort: number }> | undefined)?.[0]?.containerPort;
  return port ? `tcp-socket :${port} (implicit: first containerPort, at most 5 s)` : undefined;
}

function stateLines(state: Obj | undefined, label: string): string {
  const [kind, detail] = Object.entries(state ?? { waiting: { reason: 'ContainerCreating' } })[0] as [string, Obj];
  const rows: Array<[string, string]> = [[label, kind[0]!.toUpperCase() + kind.slice(1)]];
  const text = fields(rows, '    ');
  const sub: Array<[string, string]> = [];
  if (detail['reason']) sub.push(['Reason', String(detail['reason'])]);
  if (detail['message']) sub.push(['Message', String(detail['message'])]);
  if ('exitCode' in detail) sub.push(['Exit Code', detail['exitCode'] === null ? '<none>' : String(detail['exitCode'])]);
  if (detail['signal']) sub.push(['Signal', String(detail['signal'])]);
  if (detail['startedAt']) sub.push(['Started', String(detail['startedAt'])]);
  if (detail['finishedAt']) sub.push(['Finished', String(detail['finishedAt'])]);
  return text + (sub.length ? fields(sub, '      ') : '');
}

function describePod(ctx: CliContext, pod: Resource, now: number): string {
  const spec = (pod.spec ?? {}) as Obj;
  const status = (pod.status ?? {}) as Obj;
  const ns = pod.metadata.namespace ?? 'default';
  const ann = pod.metadata.annotations ?? {};
  const owner = ann[ANNOTATION_WORKLOAD_NAME] ? `${ann[ANNOTATION_WORKLOAD_KIND] ?? 'Deployment'}/${ann[ANNOTATION_WORKLOAD_NAME]}` : '<none>';
  let out = fields([
    ['Name', pod.metadata.name],
    ['Namespace', ns],
    ['Service Account', String(spec['serviceAccountName'] ?? 'default')],
    ['Node', `${String(spec['nodeName'] ?? '<none>')}${status['hostIP'] ? `/${String(status['hostIP'])}` : ''}`],
    ['Start Time', String(status['startTime'] ?? '<unknown>')],
    ['Labels', mapText(pod.metadata.labels, 18)],
    ['Status', String(status['phase'] ?? 'Pending')],
    ['IP', String(status['podIP'] ?? '<none>')],
    ['Controlled By', owner],
  ]);
  const statuses = (status['containerStatuses'] as Obj[] | undefined) ?? [];
  out += 'Containers:\n';
  for (const c of (spec['containers'] as Obj[] | undefined) ?? []) {
    const name = String(c['name']);
    const cs = statuses.find((s) => s['name'] === name) ?? {};
    out += `  ${name}:\n`;
    out += fields([['Image', String(c['image'] ?? '<none>')]], '    ');
    const argv = [...((c['command'] as string[] | undefined) ?? []), ...((c['args'] as string[] | undefined) ?? [])];
    out += '    Command:\n' + argv.map((a) => `      ${a}\n`).join('');
    const workDir = String(c['workingDir'] ?? ann[ANNOTATION_WORKING_DIR] ?? ctx.layout.workDir);
    out += fields([['Working Dir', workDir]], '    ');
    out += stateLines(cs['state'] as Obj | undefined, 'State');
    const last = cs['lastState'] as Obj | undefined;
    if (last && Object.keys(last).length > 0) out += stateLines(last, 'Last State');
    const probe = probeText(c);
    out += fields(
      [
        ['Ready', cs['ready'] ? 'True' : 'False'],
        ['Restart Count', String(cs['restartCount'] ?? 0)],
        ...(probe ? ([['Readiness', probe]] as Array<[string, string]>) : []),
        ['Log', podLogFile(ctx.stateDir, ns, pod.metadata.name, name)],
      ],
      '    ',
    );
  }
  out += 'Conditions:\n' + formatTable(['Type', 'Status'], [['Ready', podReady(pod) ? 'True' : 'False']]).replace(/^(?=.)/gm, '  ');
  out += eventsText(readEvents(podEventsFile(ctx.stateDir, ns, pod.metadata.name)), now);
  return out;
}

async function describeDeployment(ctx: CliContext, d: Resource, now: number): Promise<string> {
  const ns = d.metadata.namespace ?? 'default';
  const spec = (d.spec ?? {}) as Obj;
  const pods = (await ctx.client.list(POD, ns)).filter((p) => p.metadata.annotations?.[ANNOTATION_WORKLOAD_NAME] === d.metadata.name);
  pods.sort((a, b) => a.metadata.name.localeCompare(b.metadata.name));
  const replicas = typeof spec['replicas'] === 'number' ? spec['replicas'] : 1;
  const ready = pods.filter(podReady).length;
  const template = (spec['template'] ?? {}) as { spec?: { containers?: Obj[] } };
  let out = fields([
    ['Name', d.metadata.name],
    ['Namespace', ns],
    ['CreationTimestamp', d.metadata.creationTimestamp ?? '<unknown>'],
    ['Labels', mapText(d.metadata.labels, 19)],
    ['Selector', mapText((spec['selector'] as { matchLabels?: Record<string, string> } | undefined)?.matchLabels, 19)],
    ['Replicas', `${replicas} desired | ${pods.length} total | ${ready} available | ${pods.length - ready} unavailable`],
    ['Working Dir', d.metadata.annotations?.[ANNOTATION_WORKING_DIR] ?? `${ctx.layout.workDir} (where "l4mesh up" ran)`],
  ]);
  out += 'Pod Template:\n  Containers:\n';
  for (const c of template.spec?.containers ?? []) {
    const argv = [...((c['command'] as string[] | undefined) ?? []), ...((c['args'] as string[] | undefined) ?? [])];
    out += `   ${String(c['name'])}:\n` + fields([['Image', String(c['image'] ?? '<none>')], ['Command', JSON.stringify(argv)]], '    ');
  }
  out += 'Pods:\n';
  out += pods.length === 0 ? '  <none>\n' : formatTable(['NAME', 'READY', 'RESTARTS'], pods.map((p) => {
    const cs = (p.status?.['containerStatuses'] as Obj[] | undefined) ?? [];
    return [p.metadata.name, podReady(p) ? 'True' : 'False', String(cs.reduce((n, s) => n + Number(s['restartCount'] ?? 0), 0))];
  })).replace(/^(?=.)/gm, '  ');
  // The Deployment's own events and those of its current pods, each pod's marked with its name.
  const own = readEvents(deploymentEventsFile(ctx.stateDir, ns, d.metadata.name));
  const podEvents = pods.flatMap((p) => readEvents(podEventsFile(ctx.stateDir, ns, p.metadata.name)).map((e) => ({ ...e, message: `pod/${p.metadata.name}: ${e.message}` })));
  out += eventsText([...own, ...podEvents].sort((a, b) => a.time.localeCompare(b.time)), now);
  return out;
}

export async function run(args: string[]): Promise<number> {
  return runCommand('describe', HELP, args, async () => {
    const { values, positionals } = parseArgs({
      args,
      options: { namespace: { type: 'string', short: 'n' }, 'state-dir': { type: 'string' } },
      allowPositionals: true,
      strict: true,
    });
    let kindWord: string | undefined;
    let name: string | undefined;
    if (positionals[0]?.includes('/')) [kindWord, name] = positionals[0].split('/', 2);
    else [kindWord, name] = positionals;
    if (!kindWord || !name) throw new UsageError('give a kind and a name: "l4mesh describe pod NAME" or "l4mesh describe deploy NAME"');
    const info = kindOrThrow(kindWord);
    if (info.kind !== 'Pod' && info.kind !== 'Deployment') throw new UsageError(`describe shows pods and deployments; for ${info.plural} use "l4mesh get ${info.plural} ${name} -o yaml"`);
    const ns = values.namespace ?? 'default';
    const ctx = await openContext(values['state-dir']);
    const r = await ctx.client.get(info, ns, name);
    if (!r) throw new L4meshError('L4MESH_ERR_NOT_FOUND', `${pluralName(info)} "${name}" not found in namespace "${ns}"`);
    const now = Date.now();
    process.stdout.write(info.kind === 'Pod' ? describePod(ctx, r, now) : await describeDeployment(ctx, r, now));
    return 0;
  });
}
