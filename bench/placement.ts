// Where the measured processes run. By default the scheduler places them: on this 2-core VM every process of a
// scenario (load generator, both proxies, backend) shares the two cores, and which of them end up on the same
// core decides much of a request's latency. A wake-up of a process on the core that is already running costs
// a few µs; one on the other core, which is halted while idle, costs 70–120 µs here (bench/RESULTS.md,
// 2026-12-01 08:10 UTC). The kernel keeps a woken process on the core it last ran on when that core is idle,
// so whichever split a scenario falls into at its start tends to stay for its life, and a scenario's p50 at
// 1,000 req/s tells as much about that split as about the proxies.
//
// `--placement=nodes` takes the split out of the comparison: it gives every scenario the shape of a real
// deployment, two nodes of one core each. The client's node (core 0) runs the load generator, iperf3's client
// and the client-side proxy; the server's node (core 1) the server-side proxy and the backends. Every request
// then crosses between the cores twice, in every scenario, direct included, as it crosses between machines in
// a cluster. Other processes (the control plane, idle scenarios) stay where the scheduler puts them.
import { availableParallelism } from 'node:os';
import { onHost, type Launch, type RunningScenario, type Sides } from './scenarios.js';
import { run } from './proc.js';

export type Placement = 'shared' | 'nodes';

export const CLIENT_CPU = 0;
export const SERVER_CPU = 1;

export function parsePlacement(value: string | undefined): Placement {
  if (value === undefined || value === 'shared') return 'shared';
  if (value === 'nodes') return 'nodes';
  throw new Error(`--placement: expected shared (the scheduler places every process) or nodes (client side on core ${CLIENT_CPU}, server side on core ${SERVER_CPU}), got "${value}"`);
}

/** The `taskset` calls that pin each side's processes, every thread of each (`-a`), to its core. */
export function pinCommands(sides: Sides): Array<[command: string, args: string[]]> {
  const pin = (cpu: number, pids: number[]): Array<[string, string[]]> => pids.map((pid) => ['taskset', ['-a', '-p', '-c', String(cpu), String(pid)]]);
  return [...pin(CLIENT_CPU, sides.client), ...pin(SERVER_CPU, sides.server)];
}

/**
 * Pins a running scenario's sides to their cores. Threads a process starts later inherit the core of the
 * thread that starts them, so pinning every thread once is enough.
 */
export async function placeOnNodes(name: string, sides: Sides, cpus: number): Promise<void> {
  if (cpus < 2) throw new Error(`--placement=nodes needs 2 cores, this machine has ${cpus}`);
  if (sides.client.length === 0 && sides.server.length === 0) throw new Error(`--placement=nodes: scenario ${name} names no processes of either side`);
  for (const [command, args] of pinCommands(sides)) await run(command, args);
}

/**
 * Applies `placement` to a started scenario and returns how its load generator and iperf3's client are to be
 * started: as the scenario says (shared), or pinned to the client's core after its sides were pinned (nodes).
 */
export async function applyPlacement(placement: Placement, name: string, running: RunningScenario): Promise<Launch> {
  const launch = running.launch ?? onHost;
  if (placement === 'shared') return launch;
  await placeOnNodes(name, running.sides, availableParallelism());
  return onClientCpu(launch);
}

/** `launch` with the process started on the client's core (the load generator and iperf3's client). */
export function onClientCpu(launch: Launch): Launch {
  return (command, args) => {
    const [c, a] = launch(command, args);
    return ['taskset', ['-c', String(CLIENT_CPU), c, ...a]];
  };
}
