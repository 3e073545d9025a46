// What a proxy decided for the connections of a sampled trace (`l4mesh check`'s probe): the last
// DEFAULT_TRACES traces in a ring, served on the admin port as GET /debug/trace?id=<trace id>.
import { randomBytes } from 'node:crypto';

/** Traces kept: a check reads its trace within seconds, and a few hundred records are a few hundred KiB at most. */
export const DEFAULT_TRACES = 256;
/** Decisions kept per trace: one connection makes about ten; a trace that makes more is not a probe. */
export const DEFAULT_DECISIONS_PER_TRACE = 64;
/** Armed client addresses waiting for their connection: a check arms one; more means nobody is connecting. */
export const DEFAULT_ARMED = 64;
/** How long an armed address waits for its connection: a check connects right after arming. */
export const ARM_TTL_MS = 30_000;

export type TraceStep = 'capture' | 'resolve' | 'endpoints' | 'waypoint' | 'tunnel' | 'policy' | 'dial' | 'bytes';

/** One decision, in the order the proxy made it. */
export interface TraceDecision {
  /** The proxy that decided (`node-2`, `waypoint default/waypoint`). */
  proxy: string;
  /** `outbound` (the source's proxy), `inbound` (the destination's) or `waypoint`. */
  direction: 'outbound' | 'inbound' | 'waypoint';
  step: TraceStep;
  verdict: 'OK' | 'FAIL' | 'INFO';
  detail: string;
  /** Machine-readable facts of the decision (endpoint, policy, rule, bytes ...). */
  facts?: Record<string, string | number | boolean>;
  /** Milliseconds since the trace's first decision on this proxy. */
  atMs: number;
}

export interface TraceRecord {
  id: string;
  startedAt: string;
  decisions: TraceDecision[];
  /** Decisions left out once DEFAULT_DECISIONS_PER_TRACE were kept. */
  dropped: number;
}

interface Stored {
  startedAt: number;
  decisions: TraceDecision[];
  dropped: number;
}

/** W3C trace context fields; `sampled` is flag bit 0. */
export interface TraceContext {
  traceId: string;
  spanId: string;
  sampled: boolean;
}

const ODD_HEX_DIGITS = '13579bdf';
const TRACEPARENT = /^00-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})$/;

/** Parses a version-00 `traceparent`; undefined when absent or malformed (an all-zero id is invalid). */
export function parseTraceparent(header: string | string[] | undefined): TraceContext | undefined {
  const m = typeof header === 'string' ? TRACEPARENT.exec(header.trim()) : null;
  if (!m || /^0+$/.test(m[1]!) || /^0+$/.test(m[2]!)) return undefined;
  return { traceId: m[1]!, spanId: m[2]!, sampled: (parseInt(m[3]!, 16) & 1) === 1 };
}

/** A sampled `traceparent` continuing `traceId` with a new span: what a traced connection's next hop receives. */
export function sampledTraceparent(traceId: string): string {
  return `00-${traceId}-${randomBytes(8).toString('hex')}-01`;
}

/** Cheap test for the hot path: only sampled contexts are recorded, so untraced connections cost one compare. */
export function isSampledTraceparent(header: string | string[] | undefined): boolean {
  // The flags' last hex digit is odd when bit 0 (sampled) is set: one character test before parsing.
  return typeof header === 'string' && ODD_HEX_DIGITS.includes(header.charAt(header.length - 1)) && parseTraceparent(header)?.sampled === true;
}

/** Appends decisions of one trace on one proxy; `record` is what the data path calls. */
export interface TraceRecorder {
  readonly traceId: string;
  /** The `traceparent` the next hop of this connection must carry. */
  readonly traceparent: string;
  record(decision: Omit<TraceDecision, 'proxy' | 'direction' | 'atMs'>): void;
}

export class TraceStore {
  private readonly traces = new Map<string, Stored>();
  private readonly armed = new Map<string, { traceId: string; until: number }>();

  constructor(
    private readonly maxTraces = DEFAULT_TRACES,
    private readonly maxDecisions = DEFAULT_DECISIONS_PER_TRACE,
    private readonly maxArmed = DEFAULT_ARMED,
  ) {}

  /** The next connection from `client` (`ip:port` as the capture sees it) carries `traceId`. */
  arm(client: string, traceId: string, now = Date.now()): void {
    for (const [key, a] of this.armed) if (a.until <= now) this.armed.delete(key);
    this.armed.delete(client);
    if (this.armed.size >= this.maxArmed) this.armed.delete(this.armed.keys().next().value!);
    this.armed.set(client, { traceId, until: now + ARM_TTL_MS });
  }

  /** The trace armed for `client`, removed; undefined (one size check) when nothing is armed. */
  claim(client: string, now = Date.now()): string | undefined {
    if (this.armed.size === 0) return undefined;
    const a = this.armed.get(client);
    if (!a) return undefined;
    this.armed.delete(client);
    return a.until > now ? a.traceId : undefined;
  }

  /** A recorder for `traceId` on this proxy; the trace enters the ring (evicting the oldest) at its first decision. */
  recorder(traceId: string, proxy: string, direction: TraceDecision['direction']): TraceRecorder {
    const traceparent = sampledTraceparent(traceId);
    return {
      traceId,
      traceparent,
      record: (decision) => this.add(traceId, { proxy, direction, ...decision }),
    };
  }

  get(traceId: string): TraceRecord | undefined {
    const t = this.traces.get(traceId);
    return t && { id: traceId, startedAt: new Date(t.startedAt).toISOString(), decisions: t.decisions.slice(), dropped: t.dropped };
  }

  /** Trace ids held, oldest first. */
  ids(): string[] {
    return [...this.traces.keys()];
  }

  private add(traceId: string, decision: Omit<TraceDecision, 'atMs'>): void {
    const now = Date.now();
    let t = this.traces.get(traceId);
    if (!t) {
      if (this.traces.size >= this.maxTraces) this.traces.delete(this.traces.keys().next().value!);
      t = { startedAt: now, decisions: [], dropped: 0 };
      this.traces.set(traceId, t);
    }
    if (t.decisions.length >= this.maxDecisions) {
      t.dropped++;
      return;
    }
    t.decisions.push({ ...decision, atMs: now - t.startedAt });
  }
}
