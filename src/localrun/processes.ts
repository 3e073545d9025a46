// Background processes of a local mesh: spawning detached, recording pids, checking and stopping them by pid.
import { spawn, type SpawnOptions } from 'node:child_process';
import { existsSync, openSync, closeSync, readFileSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { dirname } from 'node:path';
import { opensslConfigArgs } from '../config/paths.js';
import { pidsFile } from '../config/state-layout.js';
import { writeJsonAtomic } from './layout.js';

/** How long `down` waits after SIGTERM before SIGKILL: long enough for a proxy to drain briefly. */
export const STOP_GRACE_MS = 8_000;

export interface ProcessRecord {
  pid: number;
  /** /proc start time (clock ticks since boot), so a reused pid is never mistaken for ours. */
  startTime: string | null;
  address?: string;
  command: string[];
  log?: string;
  /** Restarts by the runtime's supervisor after the process exited, and when it last exited (RFC 3339). */
  restarts?: number;
  lastExit?: string;
}

export type ProcessTable = Record<string, ProcessRecord>;

/** Field 22 of /proc/<pid>/stat; null where /proc is not available. */
export function processStartTime(pid: number): string | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name (field 2) may hold spaces; fields after its closing paren are plain.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return fields[19] ?? null;
  } catch {
    return null;
  }
}

/** True while the recorded process (same pid and start time) exists and is not a zombie. */
export function isAlive(rec: Pick<ProcessRecord, 'pid' | 'startTime'>): boolean {
  try {
    process.kill(rec.pid, 0);
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
  if (existsSync('/proc/self/stat')) {
    try {
      const stat = readFileSync(`/proc/${rec.pid}/stat`, 'utf8');
      if (stat.slice(stat.lastIndexOf(')') + 2).startsWith('Z')) return false;
    } catch {
      return false;
    }
    if (rec.startTime !== null && processStartTime(rec.pid) !== rec.startTime) return false;
  }
  return true;
}

export function readProcessTable(stateDir: string): ProcessTable {
  try {
    return JSON.parse(readFileSync(pidsFile(stateDir), 'utf8')) as ProcessTable;
  } catch {
    return {};
  }
}

export async function writeProcessTable(stateDir: string, table: ProcessTable): Promise<void> {
  await writeJsonAtomic(pidsFile(stateDir), table);
}

/** Starts `command` in its own process group with stdout and stderr appended to `logFile`; does not wait for it. */
export async function spawnDetached(command: string, args: string[], logFile: string, options: SpawnOptions = {}): Promise<ProcessRecord> {
  await mkdir(dirname(logFile), { recursive: true });
  const fd = openSync(logFile, 'a');
  try {
    const child = spawn(command, args, { ...options, detached: true, stdio: ['ignore', fd, fd] });
    const pid = await new Promise<number>((resolve, reject) => {
      child.once('error', reject);
      child.once('spawn', () => resolve(child.pid!));
    });
    child.unref();
    return { pid, startTime: processStartTime(pid), command: [command, ...args], log: logFile };
  } finally {
    closeSync(fd);
  }
}

/** The argv that runs this same CLI again (from src under tsx, or from dist), with our OpenSSL settings. */
export function selfCommand(): { command: string; args: string[] } {
  return { command: process.execPath, args: [...process.execArgv, ...opensslConfigArgs(), process.argv[1]!] };
}

function signal(pid: number, sig: NodeJS.Signals, group: boolean): void {
  try {
    process.kill(group ? -pid : pid, sig);
  } catch {
    // Already gone, or the group is gone: either way nothing left to signal.
  }
}

/**
 * SIGTERM to the process group (children of a pod's shell included), SIGKILL after `graceMs`.
 * Resolves true when the process is gone.
 */
export async function stopProcess(rec: Pick<ProcessRecord, 'pid' | 'startTime'>, graceMs = STOP_GRACE_MS): Promise<boolean> {
  if (!isAlive(rec)) {
    signal(rec.pid, 'SIGKILL', true); // stray group members of a leader that already exited
    return true;
  }
  signal(rec.pid, 'SIGTERM', true);
  signal(rec.pid, 'SIGTERM', false);
  const deadline = Date.now() + graceMs;
  while (Date.now() < deadline && isAlive(rec)) await new Promise((r) => setTimeout(r, 50));
  if (isAlive(rec)) {
    signal(rec.pid, 'SIGKILL', true);
    signal(rec.pid, 'SIGKILL', false);
    for (let i = 0; i < 40 && isAlive(rec); i++) await new Promise((r) => setTimeout(r, 50));
  }
  signal(rec.pid, 'SIGKILL', true);
  return !isAlive(rec);
}
