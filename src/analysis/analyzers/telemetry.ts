// Telemetry checks: tag overrides that name a label the metric does not carry (a REMOVE that does
// nothing, often a misspelt label), or add a new one (an UPSERT of an unknown name adds a label).
import { TCP_LABEL_NAMES } from '../../dataplane/telemetry/labels.js';
import { HTTP_LABEL_NAMES } from '../../waypoint/http-metrics.js';
import { didYouMean } from '../../cli/suggest.js';
import { finding, MESSAGES, type Finding } from '../messages.js';
import { asArr, asObj, ofKind, refOf, type Snapshot } from '../snapshot.js';

const HTTP_METRICS = new Set(['REQUEST_COUNT', 'REQUEST_DURATION', 'REQUEST_SIZE', 'RESPONSE_SIZE']);

/** The labels the metric(s) an override matches carry before any override. */
function knownLabels(match: Record<string, unknown>): readonly string[] {
  const metric = typeof match['metric'] === 'string' ? match['metric'] : 'ALL_METRICS';
  if (metric === 'ALL_METRICS') return [...new Set<string>([...TCP_LABEL_NAMES, ...HTTP_LABEL_NAMES])];
  return HTTP_METRICS.has(metric) ? HTTP_LABEL_NAMES : TCP_LABEL_NAMES;
}

export function analyzeTelemetry(s: Snapshot): Finding[] {
  const out: Finding[] = [];
  for (const t of ofKind(s, 'Telemetry')) {
    asArr(asObj(t.spec)['metrics']).forEach((m, i) => {
      asArr(asObj(m)['overrides']).forEach((o, j) => {
        const override = asObj(o);
        const match = asObj(override['match']);
        const metric = typeof match['metric'] === 'string' ? match['metric'] : 'ALL_METRICS';
        const known = knownLabels(match);
        for (const [tag, raw] of Object.entries(asObj(override['tagOverrides']))) {
          if (known.includes(tag)) continue;
          const field = `spec.metrics[${i}].overrides[${j}].tagOverrides.${tag}`;
          const remove = asObj(raw)['operation'] === 'REMOVE';
          const hint = didYouMean(tag, known);
          out.push(
            remove
              ? finding(
                  MESSAGES.telemetryUnknownTag,
                  refOf(t),
                  `REMOVE of tag "${tag}" does nothing: ${metric} series carry no such label${hint}`,
                  `use one of the metric's labels (${known.slice(0, 4).join(', ')} …; "l4mesh ztunnel-config" and /metrics show them all)`,
                  field,
                )
              : finding(
                  MESSAGES.telemetryNewTag,
                  refOf(t),
                  `UPSERT of tag "${tag}" adds a new label to every ${metric} series${hint}`,
                  hint ? 'if you meant to change an existing label, use its exact name' : 'nothing to do if a new label is what you want',
                  field,
                ),
          );
        }
      });
    });
  }
  return out;
}
