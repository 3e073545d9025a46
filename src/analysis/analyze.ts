// Runs every analyzer over a snapshot of the stored configuration and returns the findings for the
// namespaces asked about, most severe first — what `l4mesh analyze` prints.
import type { Resource } from '../api/types.js';
import { analyzeWaypoints } from './analyzers/ambient.js';
import { analyzeRouting } from './analyzers/routing.js';
import { analyzeSecurity } from './analyzers/security.js';
import { analyzeServices } from './analyzers/services.js';
import { analyzeTelemetry } from './analyzers/telemetry.js';
import { LEVEL_RANK, type Finding } from './messages.js';
import { snapshotOf, type Snapshot } from './snapshot.js';

const ANALYZERS: ReadonlyArray<(s: Snapshot) => Finding[]> = [analyzeRouting, analyzeServices, analyzeSecurity, analyzeWaypoints, analyzeTelemetry];

export interface AnalyzeOptions {
  /** Report findings on resources in these namespaces only (cluster-scoped ones always); all when undefined. */
  namespaces?: readonly string[];
}

/** Findings sorted by severity, then code, then resource; the whole mesh is the context either way. */
export function analyze(resources: readonly Resource[], options: AnalyzeOptions = {}): Finding[] {
  const snapshot = snapshotOf(resources);
  const wanted = options.namespaces ? new Set(options.namespaces) : undefined;
  return ANALYZERS.flatMap((a) => a(snapshot))
    .filter((f) => !wanted || f.resource.namespace === '' || wanted.has(f.resource.namespace))
    .sort(
      (a, b) =>
        LEVEL_RANK[b.level] - LEVEL_RANK[a.level] ||
        a.code.localeCompare(b.code) ||
        a.resource.kind.localeCompare(b.resource.kind) ||
        a.resource.namespace.localeCompare(b.resource.namespace) ||
        a.resource.name.localeCompare(b.resource.name) ||
        (a.field ?? '').localeCompare(b.field ?? ''),
    );
}
