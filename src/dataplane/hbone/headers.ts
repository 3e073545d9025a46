// The request headers of an HBONE CONNECT: W3C `baggage` with the source workload's peer metadata,
// RFC 7239 `forwarded` with the original client address, and a W3C `traceparent`.
import { randomBytes } from 'node:crypto';
import { isIPv6 } from 'node:net';
import type { MeshWorkload } from '../../api/mesh.js';

export const BAGGAGE_HEADER = 'baggage';
export const FORWARDED_HEADER = 'forwarded';
export const TRACEPARENT_HEADER = 'traceparent';

/** Peer metadata carried in baggage, under the OpenTelemetry resource keys ztunnel uses. */
export interface PeerBaggage {
  clusterId?: string;
  namespace?: string;
  /** The owning workload, e.g. Deployment `ratings-v2`. */
  workloadName?: string;
  /** Lower-case kind of the owner: `deployment` (default), `cronjob`, `job` or `pod`. */
  workloadType?: string;
  /** Canonical service. */
  serviceName?: string;
  /** Canonical revision. */
  serviceVersion?: string;
  region?: string;
  zone?: string;
}

/** What a workload announces about itself in baggage (all fields absent for an unknown workload). */
export function workloadBaggage(w: MeshWorkload | undefined): PeerBaggage {
  return {
    clusterId: w?.clusterId,
    namespace: w?.namespace,
    workloadName: w?.workloadName,
    workloadType: w?.workloadType.toLowerCase(),
    serviceName: w?.canonicalName,
    serviceVersion: w?.canonicalRevision,
  };
}

const WORKLOAD_NAME_KEYS = new Set(['k8s.deployment.name', 'k8s.cronjob.name', 'k8s.pod.name', 'k8s.job.name']);

/** W3C baggage-octet: printable ASCII except space, `"`, `,`, `;`, `\`; `%` is escaped too. */
const NOT_BAGGAGE_OCTET = /[^\x21\x23-\x24\x26-\x2b\x2d-\x3a\x3c-\x5b\x5d-\x7e]/gu;

function encodeValue(value: string): string {
  return value.replace(NOT_BAGGAGE_OCTET, (c) => encodeURIComponent(c));
}

function decodeValue(value: string): string {
  try {
    return decodeURIComponent(value);
  } catch {
    return value;
  }
}

/** Keys in the order ztunnel writes them; absent or empty fields are left out. */
export function formatBaggage(b: PeerBaggage): string {
  const members: string[] = [];
  const add = (key: string, value: string | undefined): void => {
    if (value) members.push(`${key}=${encodeValue(value)}`);
  };
  add('k8s.cluster.name', b.clusterId);
  add('k8s.namespace.name', b.namespace);
  add(`k8s.${(b.workloadType ?? 'deployment').toLowerCase()}.name`, b.workloadName);
  add('service.name', b.serviceName);
  add('service.version', b.serviceVersion);
  add('cloud.region', b.region);
  add('cloud.availability_zone', b.zone);
  return members.join(',');
}

/** Parses one or more `baggage` header values; unknown keys and member properties (`;…`) are ignored. */
export function parseBaggage(header: string | string[] | undefined): PeerBaggage {
  const out: PeerBaggage = {};
  if (header === undefined) return out;
  for (const line of Array.isArray(header) ? header : [header]) {
    for (const member of line.split(',')) {
      const eq = member.indexOf('=');
      if (eq < 0) continue;
      const key = member.slice(0, eq).trim();
      const semicolon = member.indexOf(';', eq);
      const raw = member.slice(eq + 1, semicolon < 0 ? undefined : semicolon).trim();
      if (!raw) continue;
      const value = decodeValue(raw);
      if (key === 'k8s.cluster.name') out.clusterId = value;
      else if (key === 'k8s.namespace.name') out.namespace = value;
      else if (WORKLOAD_NAME_KEYS.has(key)) {
        out.workloadName = value;
        out.workloadType = key.slice('k8s.'.length, -'.name'.length);
      } else if (key === 'service.name') out.serviceName = value;
      else if (key === 'service.version') out.serviceVersion = value;
      else if (key === 'cloud.region') out.region = value;
      else if (key === 'cloud.availability_zone') out.zone = value;
    }
  }
  return out;
}

/**
 * RFC 7239 node: IPv6 in brackets, and quoted because `:` and `[` are not token characters. Joined, not
 * templated: the header lives as long as its tunnel, and a join is one flat string instead of four.
 */
export function formatForwarded(ip: string, port: number): string {
  return (isIPv6(ip) ? ['for="[', ip, ']:', port, '"'] : ['for="', ip, ':', port, '"']).join('');
}

/** The `for=` node of the first forwarded element, as ip and port; undefined when absent or obfuscated. */
export function parseForwardedFor(header: string | undefined): { ip: string; port: number } | undefined {
  if (!header) return undefined;
  const first = header.split(',')[0] ?? '';
  for (const pair of first.split(';')) {
    const eq = pair.indexOf('=');
    if (eq < 0 || pair.slice(0, eq).trim().toLowerCase() !== 'for') continue;
    let node = pair.slice(eq + 1).trim();
    if (node.startsWith('"') && node.endsWith('"')) node = node.slice(1, -1);
    const match = /^\[([0-9a-fA-F:.]+)\](?::(\d+))?$/.exec(node) ?? /^([0-9.]+)(?::(\d+))?$/.exec(node);
    if (!match) return undefined;
    return { ip: match[1]!, port: match[2] ? Number(match[2]) : 0 };
  }
  return undefined;
}

const TRACE_ID_BYTES = 16;
const SPAN_ID_BYTES = 8;

/** Trace contexts drawn per refill of the random pool: one getrandom call per 170 connections instead of one each. */
const TRACE_IDS_PER_REFILL = 170;
const TRACE_BYTES = TRACE_ID_BYTES + SPAN_ID_BYTES;
let randomPool = Buffer.alloc(0);
let randomOffset = 0;

/** `00-<32 hex>-<16 hex>-00`, assembled as bytes so that the header is one flat string. */
const traceparentText = Buffer.from(`00-${'0'.repeat(TRACE_ID_BYTES * 2)}-${'0'.repeat(SPAN_ID_BYTES * 2)}-00`, 'latin1');

/**
 * A new W3C trace context (version 00, not sampled): one connection = one trace root. Built in a byte
 * buffer: a template of slices left five string objects per open tunnel (the stream keeps its headers).
 */
export function newTraceparent(): string {
  if (randomOffset + TRACE_BYTES > randomPool.length) {
    randomPool = randomBytes(TRACE_BYTES * TRACE_IDS_PER_REFILL);
    randomOffset = 0;
  }
  traceparentText.write(randomPool.toString('hex', randomOffset, randomOffset + TRACE_ID_BYTES), 3, 'latin1');
  traceparentText.write(randomPool.toString('hex', randomOffset + TRACE_ID_BYTES, randomOffset + TRACE_BYTES), 4 + TRACE_ID_BYTES * 2, 'latin1');
  randomOffset += TRACE_BYTES;
  return traceparentText.toString('latin1');
}

/**
 * The three headers a source proxy sends on every HBONE CONNECT; `source` may be its formatted baggage.
 * `traceparent` continues a sampled trace (an `l4mesh check` probe); otherwise each connection starts its own.
 */
export function hboneRequestHeaders(
  source: PeerBaggage | string,
  client: { ip: string; port: number },
  traceparent?: string,
): Record<string, string> {
  return {
    [BAGGAGE_HEADER]: typeof source === 'string' ? source : formatBaggage(source),
    [FORWARDED_HEADER]: formatForwarded(client.ip, client.port),
    [TRACEPARENT_HEADER]: traceparent ?? newTraceparent(),
  };
}
