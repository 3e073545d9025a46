// Route selection: which VirtualService route a request (or TCP connection) matches, first match wins,
// and which of the route's weighted destinations it goes to.
import type { CompiledDestination, CompiledHttpMatch, CompiledHttpRoute, CompiledL4Match, CompiledRoute, CompiledTcpRoute } from './route-config.js';

/** What an HTTP match can look at. Header names are lower-case (as node:http gives them). */
export interface HttpRequestFacts {
  method: string;
  /** The request target as sent (`/path?query`). */
  path: string;
  authority?: string;
  headers: Record<string, string | string[] | undefined>;
  /** The service port the request arrived for. */
  port: number;
  sourceLabels?: Record<string, string>;
  sourceNamespace?: string;
}

export interface ConnectionFacts {
  port: number;
  sourceLabels?: Record<string, string>;
  sourceNamespace?: string;
}

function headerValue(v: string | string[] | undefined): string | undefined {
  if (v === undefined) return undefined;
  // Repeated headers are compared as one comma-joined value, as Envoy does.
  return Array.isArray(v) ? v.join(',') : v;
}

function labelsMatch(want: Record<string, string> | undefined, have: Record<string, string> | undefined): boolean {
  if (!want) return true;
  for (const [k, v] of Object.entries(want)) if (have?.[k] !== v) return false;
  return true;
}

function queryOf(path: string): URLSearchParams {
  const q = path.indexOf('?');
  return new URLSearchParams(q < 0 ? '' : path.slice(q + 1));
}

export function httpMatchHolds(m: CompiledHttpMatch, req: HttpRequestFacts): boolean {
  if (m.port !== undefined && m.port !== req.port) return false;
  if (m.uri) {
    const q = req.path.indexOf('?');
    // Envoy: exact and regex path matches ignore the query string; a prefix match sees the whole :path.
    const subject = m.uri.kind === 'prefix' || q < 0 ? req.path : req.path.slice(0, q);
    if (!m.uri.test(subject)) return false;
  }
  if (m.method && !m.method.test(req.method)) return false;
  if (m.authority && !m.authority.test(req.authority ?? '')) return false;
  for (const [name, match] of m.headers) {
    const v = headerValue(req.headers[name]);
    if (v === undefined || !match.test(v)) return false;
  }
  for (const [name, match] of m.withoutHeaders) {
    const v = headerValue(req.headers[name]);
    if (v !== undefined && match.test(v)) return false;
  }
  if (m.queryParams.length > 0) {
    const query = queryOf(req.path);
    for (const [name, match] of m.queryParams) {
      const v = query.get(name);
      if (v === null || !match.test(v)) return false;
    }
  }
  if (m.sourceNamespace !== undefined && m.sourceNamespace !== req.sourceNamespace) return false;
  return labelsMatch(m.sourceLabels, req.sourceLabels);
}

export function l4MatchHolds(m: CompiledL4Match, conn: ConnectionFacts): boolean {
  if (m.port !== undefined && m.port !== conn.port) return false;
  if (m.sourceNamespace !== undefined && m.sourceNamespace !== conn.sourceNamespace) return false;
  return labelsMatch(m.sourceLabels, conn.sourceLabels);
}

/** The first route with no match list or with one match that holds; undefined when none does. */
export function selectHttpRoute(routes: readonly CompiledHttpRoute[], req: HttpRequestFacts): CompiledHttpRoute | undefined {
  return routes.find((r) => r.matches.length === 0 || r.matches.some((m) => httpMatchHolds(m, req)));
}

export function selectTcpRoute(routes: readonly CompiledTcpRoute[], conn: ConnectionFacts): CompiledTcpRoute | undefined {
  return routes.find((r) => r.matches.length === 0 || r.matches.some((m) => l4MatchHolds(m, conn)));
}

/**
 * Picks among a route's weighted destinations by smooth weighted round robin. Envoy picks weighted
 * clusters at random; a deterministic rotation gives the same long-run split without the variance, so
 * 80/20 over 1,000 requests is exactly 800/200 and a test can assert it. State is per route key.
 */
export class WeightedDestinationPicker {
  private readonly scores = new Map<string, number[]>();

  pick(route: CompiledRoute<unknown>): CompiledDestination | undefined {
    const dests = route.destinations;
    if (dests.length <= 1) return dests[0];
    let scores = this.scores.get(route.key);
    if (!scores || scores.length !== dests.length) this.scores.set(route.key, (scores = dests.map(() => 0)));
    let total = 0;
    let best = -1;
    for (let i = 0; i < dests.length; i++) {
      const w = dests[i]!.weight;
      if (w <= 0) continue;
      scores[i]! += w;
      total += w;
      if (best < 0 || scores[i]! > scores[best]!) best = i;
    }
    if (best < 0) return undefined;
    scores[best]! -= total;
    return dests[best];
  }

  /** Drops the rotation of routes that no longer exist (called when the route table is replaced). */
  retainOnly(keys: ReadonlySet<string>): void {
    for (const k of this.scores.keys()) if (!keys.has(k)) this.scores.delete(k);
  }
}
