// The container processes the runtime has running, on disk (<state>/runtime/processes.json) so `down`
// can stop them by pid even when the runtime itself was killed.
import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ProcessRecord } from './processes.js';

export function runtimeDir(stateDir: string): string {
  return join(stateDir, 'runtime');
}

/** `<namespace>/<pod>/<container>` → its current process. */
export type PodProcessTable = Record<string, ProcessRecord>;

export function readPodProcesses(stateDir: string): PodProcessTable {
  try {
    return JSON.parse(readFileSync(join(runtimeDir(stateDir), 'processes.json'), 'utf8')) as PodProcessTable;
  } catch {
    return {};
  }
}

/** Synchronous on purpose: written from process exit paths, where an await could be cut short. */
export function writePodProcesses(stateDir: string, table: PodProcessTable): void {
  const dir = runtimeDir(stateDir);
  mkdirSync(dir, { recursive: true });
  const file = join(dir, 'processes.json');
  writeFileSync(`${file}.tmp`, JSON.stringify(table, null, 2) + '\n');
  renameSync(`${file}.tmp`, file);
}

export function podLogFile(stateDir: string, namespace: string, pod: string, container: string): string {
  return join(stateDir, 'pods', namespace, pod, `${container}.log`);
}

/** The output of the container's previous instance, kept when it restarts (`l4mesh logs --previous`). */
export function previousLogFile(logFile: string): string {
  return logFile.replace(/\.log$/, '') + '.previous.log';
}

export function podLogDir(stateDir: string, namespace: string, pod: string): string {
  return join(stateDir, 'pods', namespace, pod);
}
