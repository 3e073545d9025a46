// Istio's standard HTTP metrics as a waypoint reports them (reporter="waypoint"): istio_requests_total and
// the request duration / request size / response size histograms with Envoy's default buckets.
import { Counter, Histogram, type Registry } from 'prom-client';
import { TCP_LABEL_NAMES, tcpLabels, type TcpLabelInput } from '../dataplane/telemetry/labels.js';

/** The TCP label set with response_code and grpc_response_status after request_protocol (Istio's order). */
export const HTTP_LABEL_NAMES = [
  ...TCP_LABEL_NAMES.slice(0, TCP_LABEL_NAMES.indexOf('request_protocol') + 1),
  'response_code',
  'grpc_response_status',
  ...TCP_LABEL_NAMES.slice(TCP_LABEL_NAMES.indexOf('request_protocol') + 1),
] as const;

export type HttpLabelValues = Record<(typeof HTTP_LABEL_NAMES)[number], string>;

/** Envoy's default histogram buckets (ms for durations, bytes for sizes), which Istio's stats use. */
export const ENVOY_DEFAULT_BUCKETS: readonly number[] = [
  0.5, 1, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000, 30000, 60000, 300000, 600000, 1800000, 3600000,
];

export const HTTP_METRICS = {
  requests: 'istio_requests_total',
  duration: 'istio_request_duration_milliseconds',
  requestBytes: 'istio_request_bytes',
  responseBytes: 'istio_response_bytes',
} as const;

/** Response flags a waypoint sets (Envoy's spellings). */
export const HTTP_RESPONSE_FLAGS = {
  /** No healthy upstream host (e.g. a subset with no endpoints). */
  noHealthyUpstream: 'UH',
  /** The upstream connection (HBONE tunnel) could not be established. */
  upstreamConnectFailure: 'UF',
  /** The upstream reset or closed before the response was complete. */
  upstreamReset: 'UC',
  /** The downstream went away before the response was complete. */
  downstreamTerminated: 'DC',
} as const;

export interface RequestRecord extends TcpLabelInput {
  responseCode: number;
  durationMs: number;
  requestBytes: number;
  responseBytes: number;
}

/** Label values of one request; key order is exposition order. */
export function httpLabels(input: TcpLabelInput & { responseCode: number }): HttpLabelValues {
  const tcp = tcpLabels(input);
  const out = {} as Record<string, string>;
  for (const name of HTTP_LABEL_NAMES) {
    if (name === 'request_protocol') out[name] = 'http';
    else if (name === 'response_code') out[name] = String(input.responseCode);
    // Only gRPC responses carry a status; Envoy reports an empty value for plain HTTP.
    else if (name === 'grpc_response_status') out[name] = '';
    else out[name] = tcp[name as keyof typeof tcp];
  }
  return out as HttpLabelValues;
}

export class HttpMetrics {
  private readonly requests: Counter<string>;
  private readonly duration: Histogram<string>;
  private readonly requestSize: Histogram<string>;
  private readonly responseSize: Histogram<string>;

  constructor(registry: Registry) {
    const labelNames = [...HTTP_LABEL_NAMES];
    const buckets = [...ENVOY_DEFAULT_BUCKETS];
    this.requests = new Counter({ name: HTTP_METRICS.requests, help: 'Total requests', labelNames, registers: [registry] });
    this.duration = new Histogram({ name: HTTP_METRICS.duration, help: 'Request duration in milliseconds', labelNames, buckets, registers: [registry] });
    this.requestSize = new Histogram({ name: HTTP_METRICS.requestBytes, help: 'Request size in bytes', labelNames, buckets, registers: [registry] });
    this.responseSize = new Histogram({ name: HTTP_METRICS.responseBytes, help: 'Response size in bytes', labelNames, buckets, registers: [registry] });
  }

  /** One finished request: one label set built, four series updated; nothing runs per body chunk. */
  record(r: RequestRecord): HttpLabelValues {
    const labels = httpLabels(r);
    this.requests.inc(labels, 1);
    this.duration.observe(labels, r.durationMs);
    this.requestSize.observe(labels, r.requestBytes);
    this.responseSize.observe(labels, r.responseBytes);
    return labels;
  }
}
