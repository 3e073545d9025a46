// Evidence folded into the configured path: what the proxies on it recorded for the probe's trace (their
// /debug/trace), where a failed decision fails its hop, and the analyze findings that bear on the target.
import { randomBytes } from 'node:crypto';
import type { TraceDecision, TraceRecord } from '../dataplane/trace/trace-store.js';
import { resourceName, type Finding } from '../analysis/messages.js';
import type { Hop, PathReport } from './path.js';
import { hopOfError } from './probe.js';

/** A new W3C trace id (32 hex digits) for one probe. */
export function newTraceId(): string {
  return randomBytes(16).toString('hex');
}

/** Order of the proxies on the path: the source's first, then the waypoint, then the destination's. */
const DIRECTION_ORDER: Record<TraceDecision['direction'], number> = { outbound: 0, waypoint: 1, inbound: 2 };

/** The decisions of every proxy that saw the trace, in the order the bytes met them. */
export function pathDecisions(records: readonly TraceRecord[]): TraceDecision[] {
  return records
    .flatMap((r) => r.decisions)
    .map((d, i) => ({ d, i }))
    .sort((a, b) => DIRECTION_ORDER[a.d.direction] - DIRECTION_ORDER[b.d.direction] || a.i - b.i)
    .map((x) => x.d);
}

/**
 * Whether the trace holds the whole story: the source proxy's last word (the bytes at close, or a
 * failure), and, when the source tunnelled somewhere, the far end's (its bytes or its failure). A probe
 * from outside the mesh (`first` = inbound) meets no source proxy: the destination's last word is all.
 */
export function traceComplete(decisions: readonly TraceDecision[], first: 'outbound' | 'inbound' = 'outbound'): boolean {
  const ended = (dir: TraceDecision['direction']) => decisions.some((d) => d.direction === dir && (d.step === 'bytes' || d.verdict === 'FAIL'));
  if (first === 'inbound') return ended('inbound');
  if (!ended('outbound')) return false;
  const tunnelled = decisions.some((d) => d.direction === 'outbound' && d.step === 'tunnel' && d.verdict === 'OK' && d.facts?.['via'] === 'hbone');
  if (!tunnelled) return true;
  const far = decisions.filter((d) => d.direction !== 'outbound');
  // An HTTP waypoint dials nothing for a probe without a request: its own end is enough.
  return far.length > 0 && (ended('inbound') || ended('waypoint'));
}

/** The hop a decision is evidence for: the bytes at close belong to the dial. */
function hopStep(d: TraceDecision): Hop['step'] {
  return d.step === 'bytes' ? 'dial' : d.step;
}

/** Adds every decision to its hop as evidence; the first failed decision fails its hop (when configuration did not already). */
export function withTrace(report: PathReport, traceId: string, decisions: readonly TraceDecision[]): PathReport {
  const hops: Hop[] = report.hops.map((h) => ({ ...h, ...(h.evidence ? { evidence: [...h.evidence] } : {}) }));
  let ok = report.ok;
  for (const d of decisions) {
    const step = hopStep(d);
    const line = `${d.proxy} ${d.direction}: ${d.detail}`;
    let hop = hops.find((h) => h.step === step);
    if (!hop) {
      hop = { step, verdict: d.verdict === 'FAIL' ? 'FAIL' : 'INFO', detail: `seen by ${d.proxy}` };
      hops.push(hop);
    }
    (hop.evidence ??= []).push(line);
    if (d.verdict === 'FAIL') {
      ok = false;
      if (hop.verdict !== 'FAIL' && !hops.some((h) => h.verdict === 'FAIL')) {
        hop.verdict = 'FAIL';
        hop.cause ??= hopOfError(d.detail).cause;
        hop.next ??= /^node-\d+$/.test(d.proxy) ? `l4mesh logs ztunnel --node ${d.proxy}` : 'l4mesh logs ztunnel';
      }
    }
  }
  return { ...report, ok, hops, trace: { id: traceId, decisions: [...decisions] } };
}

/** Which hop each code explains; codes not listed here say nothing about one connection. */
const HOP_OF_CODE: Readonly<Record<string, Hop['step']>> = {
  IST0101: 'waypoint',
  IST0173: 'waypoint',
  L4M0007: 'waypoint',
  IST0127: 'endpoints',
  L4M0004: 'endpoints',
  L4M0001: 'policy',
  L4M0002: 'policy',
  L4M0003: 'policy',
};

/**
 * Findings that bear on the target service: on a resource of its namespace that is the service or names it
 * in the message, or on its Namespace itself (a waypoint the namespace uses). The service goes by its own
 * name, its hostname's first label (what a VirtualService's short host says) and its FQDN; for a Service
 * the first two agree, for a ServiceEntry they need not (`external-db` for `db.corp.example`).
 */
export function findingsFor(findings: readonly Finding[], service: { name: string; hostname: string; namespace: string }): Finding[] {
  const shortNames = [...new Set([service.name, service.hostname.split('.')[0]!])];
  const mentions = shortNames.map((n) => new RegExp(`(^|[^a-z0-9-])${n.replace(/[.]/g, '\\.')}([^a-z0-9-]|$)`));
  const names = (f: Finding) => shortNames.includes(f.resource.name) || f.message.includes(service.hostname) || mentions.some((m) => m.test(f.message));
  return findings.filter(
    (f) =>
      HOP_OF_CODE[f.code] !== undefined &&
      ((f.resource.kind === 'Namespace' && f.resource.name === service.namespace) || (f.resource.namespace === service.namespace && names(f))),
  );
}

/**
 * `analyze: IST0101 Error VirtualService default/reviews: … (fix: …)` under the hop the finding explains.
 * Without a probe (`configOnly`, --dry-run) an Error-level finding is the only word on what the L7 layer
 * does with the connection, so it fails its hop; a probe's own verdict stands otherwise.
 */
export function withFindings(report: PathReport, findings: readonly Finding[], configOnly = false): PathReport {
  if (findings.length === 0) return report;
  const hops: Hop[] = report.hops.map((h) => ({ ...h, ...(h.evidence ? { evidence: [...h.evidence] } : {}) }));
  let ok = report.ok;
  for (const f of findings) {
    const hop = hops.find((h) => h.step === HOP_OF_CODE[f.code]) ?? hops[hops.length - 1]!;
    (hop.evidence ??= []).push(`analyze: ${f.code} ${f.level} ${resourceName(f.resource)}: ${f.message} (fix: ${f.fix})`);
    if (configOnly && f.level === 'Error' && hop.verdict !== 'FAIL' && !hops.some((h) => h.verdict === 'FAIL')) {
      Object.assign(hop, { verdict: 'FAIL', cause: `${f.code} on ${resourceName(f.resource)}: ${f.message}`, next: `l4mesh analyze -n ${f.resource.namespace || 'default'}` });
      ok = false;
    }
  }
  return { ...report, ok, hops, findings: [...findings] };
}
