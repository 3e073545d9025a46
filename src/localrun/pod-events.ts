// What happened to a pod or Deployment of the local runtime (scheduled, started, exited, spawn errors,
// probe failures), kept as JSON lines in the state dir for `l4mesh describe`, like Kubernetes Events.
import { appendFileSync, existsSync, mkdirSync, readFileSync, renameSync, statSync } from 'node:fs';
import { dirname } from 'node:path';

export interface PodEvent {
  type: 'Normal' | 'Warning';
  reason: string;
  message: string;
  /** RFC 3339. */
  time: string;
}

/** An event that happened `count` times, as describe shows it: "10s (x4 over 40s)". */
export interface EventSeries extends PodEvent {
  count: number;
  firstTime: string;
}

/** A crash-looping pod writes a few events per restart; past this the older half is dropped. */
export const MAX_EVENTS_BYTES = 256 * 1024;

export { deploymentEventsFile, podEventsFile } from '../config/state-layout.js';

/** Synchronous and never throwing: recorded from process exit paths, and an event must not break a pod. */
export function recordEvent(file: string, type: PodEvent['type'], reason: string, message: string): void {
  try {
    mkdirSync(dirname(file), { recursive: true });
    if (existsSync(file) && statSync(file).size > MAX_EVENTS_BYTES) {
      const lines = readFileSync(file, 'utf8').trimEnd().split('\n');
      appendFileSync(`${file}.tmp`, lines.slice(Math.floor(lines.length / 2)).join('\n') + '\n');
      renameSync(`${file}.tmp`, file);
    }
    const event: PodEvent = { type, reason, message, time: new Date().toISOString().replace(/\.\d{3}Z$/, 'Z') };
    appendFileSync(file, JSON.stringify(event) + '\n');
  } catch {
    // Best effort: the state dir went away (down --purge) while the pod stopped.
  }
}

export function readEvents(file: string): PodEvent[] {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    return [];
  }
  const out: PodEvent[] = [];
  for (const line of text.split('\n')) {
    if (!line.trim()) continue;
    try {
      out.push(JSON.parse(line) as PodEvent);
    } catch {
      // a line cut short by a crash mid-write
    }
  }
  return out;
}

/** Events with the same type, reason and message become one series (count, first and last time), ordered by last time. */
export function eventSeries(events: PodEvent[]): EventSeries[] {
  const byKey = new Map<string, EventSeries>();
  for (const e of events) {
    const key = `${e.type}\0${e.reason}\0${e.message}`;
    const s = byKey.get(key);
    if (s) {
      s.count++;
      s.time = e.time;
      // Re-insert so Map order follows the last occurrence.
      byKey.delete(key);
      byKey.set(key, s);
    } else {
      byKey.set(key, { ...e, count: 1, firstTime: e.time });
    }
  }
  return [...byKey.values()];
}
