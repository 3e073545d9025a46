// Starts etcd members (Debian's etcd-server) for a test: loopback addresses, per-test ports and data
// directories, every member killed and its directory removed at the end.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const members = new Set<ChildProcess>();
process.on('exit', () => {
  for (const m of members) if (m.exitCode === null) m.kill('SIGKILL');
});

/** A member on a loaded 2-core box can take a while to elect itself; far above the usual second. */
export const ETCD_START_TIMEOUT_MS = 60_000;

export function etcdInstalled(): boolean {
  return spawnSync('sh', ['-c', 'command -v etcd'], { stdio: 'ignore' }).status === 0;
}

export interface EtcdMember {
  name: string;
  clientUrl: string;
  proc: ChildProcess;
  output(): string;
  kill(signal?: NodeJS.Signals): Promise<void>;
  /** Starts the member again on the same data directory (after kill). */
  restart(): Promise<void>;
}

export interface EtcdCluster {
  members: EtcdMember[];
  /** Client URLs, comma-separated, as --etcd-endpoints takes them. */
  endpoints: string;
  stop(): Promise<void>;
}

/**
 * `size` members on `address` (one 127.x.y.z per test), client ports basePort+2i, peer ports
 * basePort+2i+1. Resolves when every member is ready to serve clients.
 */
export async function startEtcd(address: string, basePort: number, size = 1, extraArgs: string[] = []): Promise<EtcdCluster> {
  const dir = await mkdtemp(join(tmpdir(), 'l4mesh-etcd-'));
  const specs = Array.from({ length: size }, (_, i) => ({
    name: `m${i}`,
    clientUrl: `http://${address}:${basePort + 2 * i}`,
    peerUrl: `http://${address}:${basePort + 2 * i + 1}`,
    dataDir: join(dir, `m${i}`),
  }));
  const initialCluster = specs.map((s) => `${s.name}=${s.peerUrl}`).join(',');
  const launch = (s: (typeof specs)[number]): { proc: ChildProcess; output: () => string; ready: Promise<void> } => {
    const proc = spawn(
      'etcd',
      [
        '--name', s.name,
        '--data-dir', s.dataDir,
        '--listen-client-urls', s.clientUrl,
        '--advertise-client-urls', s.clientUrl,
        '--listen-peer-urls', s.peerUrl,
        '--initial-advertise-peer-urls', s.peerUrl,
        '--initial-cluster', initialCluster,
        '--initial-cluster-state', 'new',
        '--initial-cluster-token', `l4mesh-test-${address}-${basePort}`,
        ...extraArgs,
      ],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    members.add(proc);
    proc.on('exit', () => members.delete(proc));
    let out = '';
    const ready = new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`etcd ${s.name} not ready within ${ETCD_START_TIMEOUT_MS} ms:\n${out.slice(-3000)}`)), ETCD_START_TIMEOUT_MS);
      const onData = (b: Buffer) => {
        out += b.toString();
        if (/ready to serve client requests/.test(out)) {
          clearTimeout(timer);
          resolve();
        }
      };
      proc.stdout!.on('data', onData);
      proc.stderr!.on('data', onData);
      proc.once('exit', (code) => {
        clearTimeout(timer);
        reject(new Error(`etcd ${s.name} exited (${code}) before it was ready:\n${out.slice(-3000)}`));
      });
    });
    ready.catch(() => undefined);
    return { proc, output: () => out, ready };
  };
  const running = specs.map(launch);
  const list: EtcdMember[] = specs.map((s, i) => {
    const m: EtcdMember = {
      name: s.name,
      clientUrl: s.clientUrl,
      proc: running[i]!.proc,
      output: () => running[i]!.output(),
      kill: async (signal = 'SIGKILL') => {
        const p = running[i]!.proc;
        if (p.exitCode !== null || p.signalCode !== null) return;
        await new Promise<void>((resolve) => {
          p.once('exit', () => resolve());
          p.kill(signal);
        });
      },
      restart: async () => {
        running[i] = launch(s);
        m.proc = running[i]!.proc;
        await running[i]!.ready;
      },
    };
    return m;
  });
  await Promise.all(running.map((r) => r.ready));
  return {
    members: list,
    endpoints: specs.map((s) => s.clientUrl).join(','),
    async stop() {
      await Promise.all(list.map((m) => m.kill('SIGKILL')));
      await rm(dir, { recursive: true, force: true });
    },
  };
}
