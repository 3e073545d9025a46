// The container processes the runtime has running, on disk (<state>/runtime/processes.json) so `down`
// can stop them by pid even when the runtime itself was killed.
import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { podDir, podLogFile, podProcessesFile, runtimeDir } from '../config/state-layout.js';
import type { ProcessRecord } from './processes.js';

export { podLogFile, runtimeDir };

/** `<namespace>/<pod>/<container>` → its current process. */
export type PodProcessTable = Record<string, ProcessRecord>;

export function readPodProcesses(stateDir: string): PodProcessTable {
  try {
    return JSON.parse(readFileSync(podProcessesFile(stateDir), 'utf8')) as PodProcessTable;
  } catch {
    return {};
  }
}

/** Synchronous on purpose: written from process exit paths, where an await could be cut short. */
export function writePodProcesses(stateDir: string, table: PodProcessTable): void {
  const dir = runtimeDir(stateDir);
  mkdirSync(dir, { recursive: true });
  const file = podProcessesFile(stateDir);
  writeFileSync(`${file}.tmp`, JSON.stringify(table, null, 2) + '\n');
  renameSync(`${file}.tmp`, file);
}

/** The output of the container's previous instance, kept when it restarts (`l4mesh logs --previous`). */
export function previousLogFile(logFile: string): string {
  return logFile.replace(/\.log$/, '') + '.previous.log';
}

/** The directory of a pod's container logs (and its events). */
export function podLogDir(stateDir: string, namespace: string, pod: string): string {
  return podDir(stateDir, namespace, pod);
}
