// One proxy's lifecycle, the same for every role: control-plane link (token, root, CA, xDS) → certificates →
// telemetry → HBONE client pool → the role's listeners → metrics, readiness and admin → xDS; and one drain
// and stop order. Node proxy, sidecar and waypoint open their listeners between link() and serve().
import { checkPooledReads } from '../pooled-reads-self-test.js';
import { ADDRESS_TYPE_URL, AUTHORIZATION_TYPE_URL, TELEMETRY_TYPE_URL, type MeshWorkload } from '../../api/mesh.js';
import type { CertificateManager, CertificateStatus } from '../../identity/certificate-manager.js';
import type { WorkloadCertificate } from '../../identity/workload-certificate.js';
import type { Logger } from '../../logging/logger.js';
import { ConnectionTable } from '../connections/connection-table.js';
import { HboneClientPool } from '../hbone/client-pool.js';
import { ProxyState } from '../state/proxy-state.js';
import { createProxyTelemetry, type ProxyTelemetry } from '../telemetry/proxy-telemetry.js';
import type { XdsClient } from '../xds/client.js';
import { TraceStore } from '../trace/trace-store.js';
import { linkToControlPlane } from './control-plane-link.js';
import { startProxyEndpoints, type ProxyEndpoints } from './endpoints.js';
import type { ProxyCommonConfig } from './proxy-options.js';

/** Every role takes workloads and services, authorization policies, and l4mesh's Telemetry resources. */
const PROXY_TYPE_URLS = [ADDRESS_TYPE_URL, AUTHORIZATION_TYPE_URL, TELEMETRY_TYPE_URL];

export interface ProxyRuntimeOptions {
  config: ProxyCommonConfig & { node: string; address: string };
  /** The proxy's xDS node id (`ztunnel~…`, `sidecar~…`, `waypoint~…`). */
  nodeId: string;
  /** Names the access-log file: `<stateDir>/logs/<proxyName>.access.log`. */
  proxyName: string;
  log: Logger;
  /** Runs after every issued certificate (first issue and each rotation), e.g. to serve it. */
  onCertificate(identity: string, certificate: WorkloadCertificate): void;
  /** Added to the "certificate request failed" warning. */
  certificateHint?: string;
  /** The workloads whose traffic this proxy carries (their Telemetry resources apply here). */
  localWorkloads(): readonly MeshWorkload[];
}

/** Something that takes work from outside: stopped at the start of a drain. */
export interface ProxyListener {
  /** Stops taking new work; awaited before the next listener is stopped. */
  stopAccepting?(): Promise<void> | void;
  /** Closes what is left, giving open tunnels up to `drainMs`; awaited only after the drain. */
  close?(drainMs: number): Promise<void>;
}

/** What every role's /config_dump is built from; the role adds its own `config` section. */
export interface ProxyDumpInput {
  state: ProxyState;
  certificates: readonly CertificateStatus[];
  startedAt: Date;
  /** The control-plane replica the xDS stream is open to (undefined while reconnecting). */
  xdsConnectedTo?: string;
}

/** What a role adds to the shared lifecycle. */
export interface ProxyRole {
  /** Ready as far as the role goes (xDS synced and not draining are checked here). */
  ready(): boolean;
  configDump(input: ProxyDumpInput): unknown;
  /** Extra read-only admin views (`/connections`, `/capture`). */
  views?: Record<string, () => unknown>;
  /** After every xDS update, once the state holds it: certificates and listeners follow. */
  onUpdate?(): void;
  /** Stopped in this order when the drain starts. */
  listeners: readonly ProxyListener[];
  /** Logs of the role's own (the waypoint's request log), closed with the access log at the very end. */
  closeLogs?(): Promise<void>;
  /** `POST /quitquitquit`. */
  quit(): void;
}

export class ProxyRuntime {
  readonly state = new ProxyState();
  /** Open connections, for draining and the `/connections` view. */
  readonly connections = new ConnectionTable();
  /** Decisions of sampled traces (`l4mesh check`'s probes), on the admin port as /debug/trace. */
  readonly traces = new TraceStore();
  token!: string;
  certs!: CertificateManager;
  telemetry!: ProxyTelemetry;
  pool!: HboneClientPool;
  private xds?: XdsClient;
  private endpoints?: ProxyEndpoints;
  private role?: ProxyRole;
  private stopping?: Promise<void>;
  private servingSince = new Date();

  constructor(private readonly options: ProxyRuntimeOptions) {}

  /** Reads the token and root, creates the certificate manager, xDS client (not started), telemetry and pool. */
  async link(): Promise<void> {
    const { config, log } = this.options;
    // Pooled reads are proven on this Node before the first socket is read (off, loudly, if they misbehave).
    await checkPooledReads(log);
    const link = await linkToControlPlane({
      controlPlane: config.controlPlane,
      tokenFile: config.tokenFile,
      rootCertFile: config.rootCertFile,
      node: config.node,
      nodeId: this.options.nodeId,
      typeUrls: PROXY_TYPE_URLS,
      onCertificate: (identity, cert) => this.options.onCertificate(identity, cert),
      log,
      ...(this.options.certificateHint ? { certificateHint: this.options.certificateHint } : {}),
    });
    this.token = link.token;
    this.certs = link.certs;
    this.xds = link.xds;
    this.telemetry = createProxyTelemetry({
      proxyName: this.options.proxyName,
      stateDir: config.stateDir,
      logFormat: config.logFormat,
      tcpReportingDurationMs: config.tcpReportingDurationMs,
      metricsExpiryGraceMs: config.metricsExpiryGraceMs,
      localWorkloads: () => this.options.localWorkloads(),
      allWorkloads: () => this.state.allWorkloads(),
      serviceByKey: (key) => this.state.serviceByKey(key),
      log,
    });
    this.pool = new HboneClientPool({ tlsFor: (id) => this.certs.get(id), idleTimeoutMs: config.poolIdleTimeoutMs, transport: config.hboneTransport });
  }

  /** After the role's listeners: metrics, readiness and admin on the proxy's address, then xDS. */
  async serve(role: ProxyRole): Promise<void> {
    const { config, log } = this.options;
    const xds = this.xds!;
    this.role = role;
    this.endpoints = await startProxyEndpoints({
      address: config.address,
      stateDir: config.stateDir,
      registry: this.telemetry.registry,
      ready: () => this.ready(),
      configDump: () =>
        role.configDump({ state: this.state, certificates: this.certs.list(), startedAt: this.servingSince, xdsConnectedTo: this.xds?.streamingFrom }),
      ...(role.views ? { views: role.views } : {}),
      traces: this.traces,
      log,
      quit: () => role.quit(),
    });
    const { telemetry } = this.telemetry;
    xds.on('update', ({ snapshot }) => {
      this.state.update(snapshot);
      role.onUpdate?.();
      telemetry.update(snapshot);
    });
    xds.start();
    this.servingSince = new Date();
  }

  /** Not ready from the moment it starts draining, so whatever probes it stops sending new work at once. */
  ready(): boolean {
    return this.stopping === undefined && this.xds?.hasSynced() === true && this.role?.ready() === true;
  }

  get startedAt(): Date {
    return this.servingSince;
  }

  /**
   * Drain: unready at once (readiness answers 503), the role's listeners stop accepting (peers' new connects
   * are refused; HBONE connections get GOAWAY), open connections get up to `drainMs` to finish, then
   * everything closes, the last metrics are flushed and the access log is written out.
   */
  stop(): Promise<void> {
    this.stopping ??= (async () => {
      const { config, log } = this.options;
      log.info('draining', { open: this.connections.size, graceMs: config.drainMs });
      this.xds?.stop();
      const closing: Promise<void>[] = [];
      for (const listener of this.role?.listeners ?? []) {
        await listener.stopAccepting?.();
        if (listener.close) closing.push(listener.close(config.drainMs));
      }
      const drained = await this.connections.drained(config.drainMs);
      if (!drained) log.warn('drain timeout: closing the remaining connections', { open: this.connections.size });
      await Promise.all(closing);
      // Not awaited: a pooled connection whose stream outlived the drain would hold the stop up.
      void this.pool?.close();
      this.telemetry?.tracker.flushNow();
      this.certs?.close();
      await this.endpoints?.close();
      this.telemetry?.telemetry.stop();
      this.telemetry?.tracker.close();
      await Promise.all([this.telemetry?.accessLog.close(), this.role?.closeLogs?.()]);
    })();
    return this.stopping;
  }
}
