// One proxy's Delta ADS stream: tracks, per type URL, what the proxy subscribed to and which
// resource versions it holds, and turns mesh changes into incremental responses.
import { randomUUID } from 'node:crypto';
import type * as grpc from '@grpc/grpc-js';
import type { MeshSource, ProxyInfo } from '../registry/source.js';
import { parseNodeId } from '../registry/source.js';
import { CLUSTER_DOMAIN } from '../../config/mesh-constants.js';
import type { DeltaDiscoveryRequest, DeltaDiscoveryResponse } from '../../proto/codec.js';
import { SERVED_TYPE_URLS, type ResourceEncoder } from './resources.js';
import { metricType, type XdsMetrics } from './metrics.js';

export type XdsLog = (level: 'debug' | 'info' | 'warn' | 'error', msg: string, fields?: Record<string, unknown>) => void;

/**
 * Pushes to one stream are at least this far apart, so a burst of registry updates (a Deployment
 * scaling) becomes one response; small enough that an endpoint removal still lands in well under 1 s.
 */
export const MIN_PUSH_INTERVAL_MS = 20;

const WILDCARD = '*';

interface TypeState {
  wildcard: boolean;
  names: Set<string>;
  /** name -> version the proxy holds or has been sent (a NACKed version counts: no resend loop). */
  sent: Map<string, string>;
  /** Explicitly subscribed names not yet answered: they get a response even when unchanged or absent. */
  mustAnswer: Set<string>;
  /** The first request of a type is always answered, even with nothing, so the proxy knows it is synced. */
  answered: boolean;
}

export type DeltaCall = grpc.ServerDuplexStream<DeltaDiscoveryRequest, DeltaDiscoveryResponse>;

/** Decides whether an identified proxy may stream; returns why not (→ UNAUTHENTICATED), or undefined. */
export type XdsAdmission = (proxy: ProxyInfo, metadata: grpc.Metadata) => string | undefined;

export class DeltaStream {
  proxy?: ProxyInfo;
  readonly connectedAt = new Date();
  lastPushAt?: Date;
  lastAckAt?: Date;
  pushes = 0;
  /** Resources sent on this stream (a reconnect with initial_resource_versions gets only what changed). */
  resourcesSent = 0;
  nacks = 0;
  private readonly types = new Map<string, TypeState>();
  private timer?: NodeJS.Timeout;
  private dirtySince?: number;
  private closed = false;

  constructor(
    private readonly call: DeltaCall,
    private readonly source: MeshSource,
    private readonly encoder: ResourceEncoder,
    private readonly metrics: XdsMetrics,
    private readonly log: XdsLog,
    private readonly onClose: (stream: DeltaStream) => void,
    private readonly admit?: XdsAdmission,
    private readonly onIdentified?: (proxy: ProxyInfo) => void,
  ) {
    call.on('data', (req: DeltaDiscoveryRequest) => this.guard(() => this.onRequest(req)));
    call.on('end', () => this.close());
    call.on('cancelled', () => this.close());
    call.on('error', (err: Error) => {
      this.log('debug', 'xDS stream error', { proxy: this.proxy?.id, error: err.message });
      this.close();
    });
    call.on('close', () => this.close());
  }

  subscribedTypes(): string[] {
    return [...this.types.keys()];
  }

  /** Called on every mesh change; coalesces bursts into one push per MIN_PUSH_INTERVAL_MS. */
  schedulePush(): void {
    if (this.closed || this.types.size === 0) return;
    this.dirtySince ??= Date.now();
    if (this.timer) return;
    const sinceLast = this.lastPushAt ? Date.now() - this.lastPushAt.getTime() : Infinity;
    const delay = Math.max(0, MIN_PUSH_INTERVAL_MS - sinceLast);
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.guard(() => this.flush());
    }, delay);
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    this.onClose(this);
    try {
      this.call.end();
    } catch {
      // already ended by the peer
    }
  }

  private guard(fn: () => void): void {
    try {
      fn();
    } catch (err) {
      this.log('error', 'xDS stream failed, closing it', { proxy: this.proxy?.id, error: (err as Error).message });
      this.fail(13, `internal error: ${(err as Error).message}`); // INTERNAL
    }
  }

  private fail(code: number, details: string): void {
    if (this.closed) return;
    // grpc-js turns an 'error' event on a server stream into the call's final status.
    this.call.emit('error', Object.assign(new Error(details), { code, details }));
    this.close();
  }

  private onRequest(req: DeltaDiscoveryRequest): void {
    if (this.closed) return;
    if (!this.proxy) {
      const id = req.node?.id ?? '';
      const proxy = parseNodeId(id);
      if (!proxy) {
        this.log('warn', `xDS client sent a bad node id; expected <type>~<ip>~<name>.<namespace>~<namespace>.svc.${CLUSTER_DOMAIN}`, { nodeId: id });
        this.fail(3, `invalid node id "${id}": expected <type>~<ip>~<name>.<namespace>~<namespace>.svc.${CLUSTER_DOMAIN}`); // INVALID_ARGUMENT
        return;
      }
      const refusal = this.admit?.(proxy, this.call.metadata);
      if (refusal) {
        this.log('warn', 'xDS client refused', { proxy: proxy.id, reason: refusal });
        this.fail(16, refusal); // UNAUTHENTICATED
        return;
      }
      this.proxy = proxy;
      this.log('info', 'xDS client connected', { proxy: proxy.id, peer: this.call.getPeer() });
      this.onIdentified?.(proxy);
    }
    const typeUrl = req.typeUrl;
    if (!(SERVED_TYPE_URLS as readonly string[]).includes(typeUrl)) {
      this.log('warn', 'xDS client asked for a type this control plane does not serve; ignoring', { proxy: this.proxy.id, typeUrl });
      return;
    }
    if (req.responseNonce) this.onAckOrNack(req);

    let state = this.types.get(typeUrl);
    const subscribe = req.resourceNamesSubscribe ?? [];
    const unsubscribe = req.resourceNamesUnsubscribe ?? [];
    if (!state) {
      state = {
        wildcard: subscribe.length === 0 || subscribe.includes(WILDCARD),
        names: new Set(subscribe.filter((n) => n !== WILDCARD)),
        sent: new Map(Object.entries(req.initialResourceVersions ?? {})),
        mustAnswer: new Set(subscribe.filter((n) => n !== WILDCARD)),
        answered: false,
      };
      this.types.set(typeUrl, state);
      this.pushType(typeUrl, state, Date.now());
      return;
    }
    if (subscribe.length === 0 && unsubscribe.length === 0) return;
    for (const name of subscribe) {
      if (name === WILDCARD) state.wildcard = true;
      else {
        state.names.add(name);
        state.mustAnswer.add(name);
      }
    }
    for (const name of unsubscribe) {
      if (name === WILDCARD) state.wildcard = false;
      else {
        state.names.delete(name);
        state.mustAnswer.delete(name);
        state.sent.delete(name);
      }
    }
    this.pushType(typeUrl, state, Date.now());
  }

  private onAckOrNack(req: DeltaDiscoveryRequest): void {
    const type = metricType(req.typeUrl);
    if (req.errorDetail && (req.errorDetail.code !== 0 || req.errorDetail.message)) {
      this.nacks++;
      this.metrics.rejects.inc({ type });
      // The versions stay recorded as sent: resending them would be rejected again.
      this.log('warn', 'xDS client rejected a response (NACK)', {
        proxy: this.proxy?.id,
        typeUrl: req.typeUrl,
        nonce: req.responseNonce,
        code: req.errorDetail.code,
        message: req.errorDetail.message,
      });
    } else {
      this.lastAckAt = new Date();
    }
  }

  private flush(): void {
    if (this.closed) return;
    const since = this.dirtySince ?? Date.now();
    this.dirtySince = undefined;
    for (const [typeUrl, state] of this.types) this.pushType(typeUrl, state, since);
  }

  private pushType(typeUrl: string, state: TypeState, since: number): void {
    const proxy = this.proxy!;
    const all = this.encoder.resourcesOfType(typeUrl, proxy, this.source.current());
    const wanted = (name: string) => state.wildcard || state.names.has(name);
    const resources: DeltaDiscoveryResponse['resources'] = [];
    for (const [name, r] of all) {
      if (!wanted(name)) continue;
      if (state.sent.get(name) === r.version && !state.mustAnswer.has(name)) continue;
      resources.push({ name, version: r.version, resource: r.body });
    }
    const removed: string[] = [];
    for (const name of state.sent.keys()) if (!all.has(name) || !wanted(name)) removed.push(name);
    for (const name of state.mustAnswer) if (!all.has(name) && !state.sent.has(name)) removed.push(name);
    state.mustAnswer.clear();
    if (resources.length === 0 && removed.length === 0 && state.answered) return;

    state.answered = true;
    for (const r of resources) state.sent.set(r.name, r.version);
    for (const name of removed) state.sent.delete(name);
    const nonce = randomUUID();
    this.call.write({ typeUrl, resources, removedResources: removed, nonce, systemVersionInfo: '' });
    this.pushes++;
    this.resourcesSent += resources.length;
    this.lastPushAt = new Date();
    const type = metricType(typeUrl);
    this.metrics.pushes.inc({ type });
    this.metrics.pushTime.observe({ type }, (Date.now() - since) / 1000);
    this.log('debug', 'xDS push', { proxy: proxy.id, typeUrl, nonce, resources: resources.length, removed: removed.length });
  }
}
