// A real gRPC server running XdsServer on 127.0.0.1, and a raw Delta ADS stream that queues the
// responses it receives, for the xDS integration tests (not a test file itself).
import * as grpc from '@grpc/grpc-js';
import { Registry } from 'prom-client';
import { XdsServer } from '../../../src/controlplane/xds/server.js';
import { deltaAdsMethod } from '../../../src/proto/ads-service.js';
import type { DeltaDiscoveryRequest, DeltaDiscoveryResponse } from '../../../src/proto/codec.js';
import { FakeMeshSource } from '../../unit/xds/mesh-fixture.js';

export const NODE_ID = 'ztunnel~127.0.0.1~ztunnel-a.istio-system~istio-system.svc.cluster.local';

export interface LogLine {
  level: string;
  msg: string;
  fields?: Record<string, unknown>;
}

export interface RunningXds {
  source: FakeMeshSource;
  xds: XdsServer;
  server: grpc.Server;
  port: number;
  registry: Registry;
  logs: LogLine[];
  close(): Promise<void>;
}

export async function startXds(port = 0, source = new FakeMeshSource()): Promise<RunningXds> {
  const registry = new Registry();
  const logs: LogLine[] = [];
  const xds = new XdsServer({ source, metrics: registry, log: (level, msg, fields) => logs.push({ level, msg, fields }) });
  const server = new grpc.Server();
  xds.register(server);
  const bound = await new Promise<number>((resolve, reject) =>
    server.bindAsync(`127.0.0.1:${port}`, grpc.ServerCredentials.createInsecure(), (err, p) => (err ? reject(err) : resolve(p))),
  );
  return {
    source,
    xds,
    server,
    port: bound,
    registry,
    logs,
    close: async () => {
      xds.close();
      server.forceShutdown();
    },
  };
}

/** One Delta ADS stream; `next()` returns the next response or fails after `timeoutMs`. */
export class RawAdsStream {
  readonly client: grpc.Client;
  readonly call: grpc.ClientDuplexStream<DeltaDiscoveryRequest, DeltaDiscoveryResponse>;
  private readonly queue: DeltaDiscoveryResponse[] = [];
  private waiter?: (r: DeltaDiscoveryResponse) => void;
  status?: grpc.StatusObject;
  received = 0;

  constructor(port: number) {
    this.client = new grpc.Client(`127.0.0.1:${port}`, grpc.credentials.createInsecure());
    this.call = this.client.makeBidiStreamRequest(deltaAdsMethod.path, deltaAdsMethod.requestSerialize, deltaAdsMethod.responseDeserialize);
    this.call.on('data', (r: DeltaDiscoveryResponse) => {
      this.received++;
      if (this.waiter) {
        const w = this.waiter;
        this.waiter = undefined;
        w(r);
      } else this.queue.push(r);
    });
    this.call.on('status', (s) => (this.status = s));
    this.call.on('error', () => {});
  }

  send(req: Partial<DeltaDiscoveryRequest>): void {
    this.call.write({ resourceNamesSubscribe: [], resourceNamesUnsubscribe: [], initialResourceVersions: {}, responseNonce: '', typeUrl: '', ...req } as DeltaDiscoveryRequest);
  }

  next(timeoutMs = 2000): Promise<DeltaDiscoveryResponse> {
    const queued = this.queue.shift();
    if (queued) return Promise.resolve(queued);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiter = undefined;
        reject(new Error(`no xDS response within ${timeoutMs} ms`));
      }, timeoutMs);
      this.waiter = (r) => {
        clearTimeout(timer);
        resolve(r);
      };
    });
  }

  /** Responses that arrive within `ms` (to prove that nothing more is sent). */
  async drain(ms: number): Promise<DeltaDiscoveryResponse[]> {
    await new Promise((r) => setTimeout(r, ms));
    return this.queue.splice(0);
  }

  close(): void {
    this.call.cancel();
    this.client.close();
  }
}

/** Names and versions of a response, sorted by name: what the tests compare exactly. */
export function namesAndVersions(r: DeltaDiscoveryResponse): Array<[string, string]> {
  return r.resources.map((x): [string, string] => [x.name, x.version]).sort(([a], [b]) => (a < b ? -1 : 1));
}
