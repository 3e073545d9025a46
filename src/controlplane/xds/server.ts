// The control plane's Delta ADS server: serves the mesh (workloads, services, authorizations) to
// ztunnel-compatible proxies over envoy.service.discovery.v3.AggregatedDiscoveryService.
import type * as grpc from '@grpc/grpc-js';
import type { Registry } from 'prom-client';
import type { MeshSource, ProxyInfo } from '../registry/source.js';
import { aggregatedDiscoveryService } from '../../proto/ads-service.js';
import { DeltaStream, type DeltaCall, type XdsAdmission, type XdsLog } from './stream.js';
import { ResourceEncoder, selectResourcesFor, type ProxyResources } from './resources.js';
import { createXdsMetrics, type XdsMetrics } from './metrics.js';

export interface XdsServerOptions {
  source: MeshSource;
  log?: XdsLog;
  /** Where pilot_xds* metrics are registered; a private registry when omitted. */
  metrics?: Registry;
  /** Checks each proxy's credentials once it named itself; absent = every proxy is admitted. */
  admit?: XdsAdmission;
  /** Called once per stream when the proxy is identified and admitted; what it returns runs when that stream ends. */
  onProxyConnected?: (proxy: ProxyInfo) => void | (() => void);
}

export interface XdsConnection {
  proxy: ProxyInfo;
  connectedAt: Date;
  lastPushAt?: Date;
  lastAckAt?: Date;
  pushes: number;
  resourcesSent: number;
  nacks: number;
  types: string[];
}

const NO_LOG: XdsLog = () => {};

export class XdsServer {
  private readonly source: MeshSource;
  private readonly options: XdsServerOptions;
  private readonly log: XdsLog;
  private readonly metrics: XdsMetrics;
  private readonly encoder = new ResourceEncoder();
  private readonly streams = new Set<DeltaStream>();
  private readonly onChange = () => {
    for (const stream of this.streams) stream.schedulePush();
  };

  constructor(options: XdsServerOptions) {
    this.source = options.source;
    this.options = options;
    this.log = options.log ?? NO_LOG;
    this.metrics = createXdsMetrics(options.metrics);
    this.source.on('change', this.onChange);
  }

  /** Adds the ADS service to `server` (call before server.bindAsync/start). */
  register(server: grpc.Server): void {
    server.addService(aggregatedDiscoveryService, {
      DeltaAggregatedResources: (call: DeltaCall) => this.accept(call),
    });
  }

  connections(): XdsConnection[] {
    const out: XdsConnection[] = [];
    for (const s of this.streams) {
      if (!s.proxy) continue; // not identified yet: nothing to show
      out.push({
        proxy: s.proxy,
        connectedAt: s.connectedAt,
        lastPushAt: s.lastPushAt,
        lastAckAt: s.lastAckAt,
        pushes: s.pushes,
        resourcesSent: s.resourcesSent,
        nacks: s.nacks,
        types: s.subscribedTypes(),
      });
    }
    return out;
  }

  /** What `proxy` is sent (for /debug/config_dump), from the current mesh. */
  resourcesFor(proxy: ProxyInfo): ProxyResources {
    return selectResourcesFor(proxy, this.source.current());
  }

  /** Stops listening to the source and ends every stream (the grpc.Server is the caller's to shut down). */
  close(): void {
    this.source.off('change', this.onChange);
    for (const s of [...this.streams]) s.close();
  }

  private accept(call: DeltaCall): void {
    let ended: void | (() => void);
    const stream = new DeltaStream(call, this.source, this.encoder, this.metrics, this.log, (s) => {
      if (this.streams.delete(s)) {
        this.metrics.connected.dec();
        if (s.proxy) this.log('info', 'xDS client disconnected', { proxy: s.proxy.id, pushes: s.pushes, nacks: s.nacks });
        ended?.();
      }
    }, this.options.admit, (proxy) => {
      ended = this.options.onProxyConnected?.(proxy);
    });
    this.streams.add(stream);
    this.metrics.connected.inc();
  }
}
