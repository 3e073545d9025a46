// The proxy side of Delta ADS: keeps one stream to the control plane, holds the mesh snapshot it
// describes, ACKs what it applied, NACKs what it could not use, and reconnects with backoff.
import { EventEmitter } from 'node:events';
import * as grpc from '@grpc/grpc-js';
import { ADDRESS_TYPE_URL, AUTHORIZATION_TYPE_URL, type MeshSnapshot } from '../../api/mesh.js';
import { deltaAdsMethod } from '../../proto/ads-service.js';
import type { DeltaDiscoveryRequest, DeltaDiscoveryResponse } from '../../proto/codec.js';
import { applyDeltaResponse, emptySnapshot, type ChangedNames } from './apply.js';
import { ExponentialBackoff, DEFAULT_BACKOFF, type BackoffOptions } from '../../retry/backoff.js';
import { L4meshError, type ErrorCode } from '../../errors/index.js';

export type XdsClientLog = (level: 'debug' | 'info' | 'warn' | 'error', msg: string, fields?: Record<string, unknown>) => void;

export interface XdsClientOptions {
  /**
   * `host:port` of the control plane's xDS endpoint (CONTROL_PLANE_GRPC_PORT), or several, comma-separated
   * (replicas): a broken stream is reopened to the next one, resuming with the versions held.
   */
  address: string;
  credentials: grpc.ChannelCredentials;
  channelOptions?: grpc.ChannelOptions;
  /** `ztunnel~<ip>~<name>.<namespace>~<namespace>.svc.cluster.local` */
  nodeId: string;
  typeUrls?: string[];
  /** gRPC metadata on the stream, e.g. `{ authorization: 'Bearer <token>' }`. */
  metadata?: Record<string, string>;
  backoff?: BackoffOptions;
  log?: XdsClientLog;
}

export interface XdsUpdate {
  snapshot: MeshSnapshot;
  changed: ChangedNames;
}

/** google.rpc.Code INVALID_ARGUMENT: what a NACK reports for a resource that cannot be used. */
const NACK_CODE_INVALID_ARGUMENT = 3;

/** What a gRPC status ending the stream means to an operator; anything else counts as the control plane being unreachable. */
const XDS_ERROR_CODES: Partial<Record<grpc.status, ErrorCode>> = {
  [grpc.status.UNAUTHENTICATED]: 'L4MESH_ERR_UNAUTHENTICATED',
  [grpc.status.PERMISSION_DENIED]: 'L4MESH_ERR_PERMISSION_DENIED',
  [grpc.status.INVALID_ARGUMENT]: 'L4MESH_ERR_CONFIG',
  [grpc.status.INTERNAL]: 'L4MESH_ERR_INTERNAL',
};

const DEFAULT_TYPE_URLS = [ADDRESS_TYPE_URL, AUTHORIZATION_TYPE_URL];

type DeltaCall = grpc.ClientDuplexStream<DeltaDiscoveryRequest, DeltaDiscoveryResponse>;

/**
 * Events: `'update'(XdsUpdate)`, `'connected'(address)` (first response on a stream),
 * `'disconnected'(Error)` (the stream ended; a reconnect is scheduled unless stopped).
 */
export class XdsClient extends EventEmitter {
  private readonly options: XdsClientOptions;
  private readonly typeUrls: string[];
  private readonly backoff: ExponentialBackoff;
  private readonly log: XdsClientLog;
  private readonly addresses: string[];
  /** Index into `addresses` of the stream being opened or open. */
  private target = 0;
  private current: MeshSnapshot = emptySnapshot();
  /** Per type URL: resource name -> version held, sent back as initial_resource_versions on reconnect. */
  private readonly versions = new Map<string, Map<string, string>>();
  private readonly synced = new Set<string>();
  private client?: grpc.Client;
  private call?: DeltaCall;
  private retryTimer?: NodeJS.Timeout;
  private running = false;
  private streaming: string | undefined;

  constructor(options: XdsClientOptions) {
    super();
    this.options = options;
    this.typeUrls = options.typeUrls ?? DEFAULT_TYPE_URLS;
    this.backoff = new ExponentialBackoff(options.backoff ?? DEFAULT_BACKOFF);
    this.log = options.log ?? (() => {});
    this.addresses = options.address.split(',').map((a) => a.trim()).filter((a) => a !== '');
    for (const t of this.typeUrls) this.versions.set(t, new Map());
  }

  start(): void {
    if (this.running) return;
    this.running = true;
    this.connect();
  }

  stop(): void {
    this.running = false;
    if (this.retryTimer) clearTimeout(this.retryTimer);
    this.retryTimer = undefined;
    this.closeStream();
  }

  snapshot(): MeshSnapshot {
    return this.current;
  }

  /** The control plane (one of `address`) the current or last stream went to. */
  get connectedTo(): string {
    return this.addresses[this.target] ?? this.options.address;
  }

  /** The control plane whose stream is open and has answered, or undefined while there is none. */
  get streamingFrom(): string | undefined {
    return this.streaming;
  }

  /** True once the first response of every subscribed type has been applied. */
  hasSynced(): boolean {
    return this.typeUrls.every((t) => this.synced.has(t));
  }

  private connect(): void {
    // A fresh channel per attempt: grpc-js's own channel backoff (1 s and up) would otherwise
    // sit underneath ours and delay reconnects after a control-plane restart.
    this.client = new grpc.Client(this.connectedTo, this.options.credentials, this.options.channelOptions);
    const address = this.connectedTo;
    const metadata = new grpc.Metadata();
    for (const [k, v] of Object.entries(this.options.metadata ?? {})) metadata.set(k, v);
    const call = this.client.makeBidiStreamRequest(
      deltaAdsMethod.path,
      deltaAdsMethod.requestSerialize,
      deltaAdsMethod.responseDeserialize,
      metadata,
    ) as DeltaCall;
    this.call = call;
    let sawResponse = false;
    let ended = false;
    const onEnd = (err: Error) => {
      if (ended) return;
      ended = true;
      if (this.call === call) this.closeStream();
      this.streaming = undefined;
      // The next attempt goes to the next replica: this one may be the one that died.
      this.target = (this.target + 1) % Math.max(1, this.addresses.length);
      this.safeEmit('disconnected', err);
      this.scheduleReconnect();
    };
    call.on('data', (res: DeltaDiscoveryResponse) => {
      if (!sawResponse) {
        sawResponse = true;
        this.backoff.reset();
        this.streaming = address;
        this.safeEmit('connected', address);
      }
      this.onResponse(call, res);
    });
    call.on('error', (err: Error) => onEnd(this.describe(err, address)));
    call.on('end', () =>
      onEnd(new L4meshError('L4MESH_ERR_NO_CONTROL_PLANE', `the control plane at ${address} closed the xDS stream; it may be restarting`)),
    );

    for (const typeUrl of this.typeUrls) {
      const held = this.versions.get(typeUrl)!;
      call.write({
        node: { id: this.options.nodeId },
        typeUrl,
        resourceNamesSubscribe: [],
        resourceNamesUnsubscribe: [],
        initialResourceVersions: Object.fromEntries(held),
        responseNonce: '',
      });
    }
  }

  private onResponse(call: DeltaCall, res: DeltaDiscoveryResponse): void {
    let applied;
    try {
      if (!this.typeUrls.includes(res.typeUrl)) {
        throw new L4meshError('L4MESH_ERR_PROTOCOL', `response has type ${res.typeUrl}, which this proxy did not subscribe to`);
      }
      applied = applyDeltaResponse(this.current, res);
    } catch (err) {
      const message = (err as Error).message;
      this.log('warn', 'rejecting xDS response (NACK), keeping the previous state', { typeUrl: res.typeUrl, nonce: res.nonce, error: message });
      this.send(call, { typeUrl: res.typeUrl, responseNonce: res.nonce, errorDetail: { code: NACK_CODE_INVALID_ARGUMENT, message } });
      return;
    }
    const held = this.versions.get(res.typeUrl)!;
    for (const [name, version] of applied.versions) held.set(name, version);
    for (const name of res.removedResources) held.delete(name);
    this.current = applied.snapshot;
    this.synced.add(res.typeUrl);
    this.send(call, { typeUrl: res.typeUrl, responseNonce: res.nonce });
    this.safeEmit('update', { snapshot: applied.snapshot, changed: applied.changed } satisfies XdsUpdate);
  }

  /** A gRPC failure of the stream as an L4meshError whose code and message say what to check. */
  private describe(err: Error, address: string): L4meshError {
    const status = (err as Partial<grpc.ServiceError>).code;
    const code = (status !== undefined && XDS_ERROR_CODES[status]) || 'L4MESH_ERR_NO_CONTROL_PLANE';
    const hint =
      code === 'L4MESH_ERR_NO_CONTROL_PLANE'
        ? `; is the control plane running and reachable at ${address}?`
        : code === 'L4MESH_ERR_UNAUTHENTICATED' || code === 'L4MESH_ERR_PERMISSION_DENIED'
          ? '; check the node token this proxy was started with'
          : '';
    return new L4meshError(code, `xDS stream to ${address} failed: ${err.message}${hint}`, { cause: err });
  }

  private send(call: DeltaCall, req: Partial<DeltaDiscoveryRequest>): void {
    if (this.call !== call) return; // a stale stream: its nonces mean nothing to the new one
    call.write({ resourceNamesSubscribe: [], resourceNamesUnsubscribe: [], initialResourceVersions: {}, ...req } as DeltaDiscoveryRequest);
  }

  private scheduleReconnect(): void {
    if (!this.running || this.retryTimer) return;
    const delay = this.backoff.next();
    this.log('debug', 'xDS reconnect scheduled', { delayMs: delay });
    this.retryTimer = setTimeout(() => {
      this.retryTimer = undefined;
      if (this.running) this.connect();
    }, delay);
  }

  private closeStream(): void {
    const call = this.call;
    const client = this.client;
    this.call = undefined;
    this.client = undefined;
    call?.cancel();
    client?.close();
  }

  /** A throwing listener must not break the stream or the reconnect loop. */
  private safeEmit(event: string, ...args: unknown[]): void {
    try {
      this.emit(event, ...args);
    } catch (err) {
      this.log('error', `an xDS client '${event}' listener threw`, { error: (err as Error).message });
    }
  }
}
