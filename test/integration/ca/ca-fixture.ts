// A real CA gRPC server on loopback for the CA integration tests: fresh state dir, TLS from the mesh root.
import * as grpc from '@grpc/grpc-js';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { NodeTokenStore } from '../../../src/controlplane/ca/node-tokens.js';
import { loadOrCreateRootCa, type RootCa } from '../../../src/controlplane/ca/root-ca.js';
import { addCaService } from '../../../src/controlplane/ca/service.js';

export const NODE_A = 'node-a';
export const NODE_B = 'node-b';
export const PRODUCTPAGE = 'spiffe://cluster.local/ns/default/sa/bookinfo-productpage';
export const RATINGS = 'spiffe://cluster.local/ns/default/sa/bookinfo-ratings';

/** Which identities run where in these tests: productpage on node-a, ratings on node-b. */
export const PLACEMENT: Record<string, string[]> = { [NODE_A]: [PRODUCTPAGE], [NODE_B]: [RATINGS] };

export interface CaFixture {
  stateDir: string;
  ca: RootCa;
  tokens: NodeTokenStore;
  tokenA: string;
  tokenB: string;
  logLines: string[];
  /** Starts (or restarts) the server; port 0 picks a free one. Returns the bound port. */
  start(port?: number): Promise<number>;
  stop(): Promise<void>;
  /** Stops the server and removes the state directory. */
  close(): Promise<void>;
}

export async function createCaFixture(): Promise<CaFixture> {
  const stateDir = await mkdtemp(join(tmpdir(), 'l4mesh-ca-'));
  const ca = await loadOrCreateRootCa(stateDir);
  const tokens = await NodeTokenStore.open(stateDir);
  const tokenA = await tokens.create(NODE_A);
  const tokenB = await tokens.create(NODE_B);
  const serving = await ca.issueServingCertificate({});
  const logLines: string[] = [];
  let server: grpc.Server | undefined;

  const fixture: CaFixture = {
    stateDir,
    ca,
    tokens,
    tokenA,
    tokenB,
    logLines,
    async start(port = 0) {
      server = new grpc.Server();
      addCaService(server, {
        ca,
        tokens,
        identitiesOnNode: (node) => new Set(PLACEMENT[node] ?? []),
        log: (line) => logLines.push(line),
      });
      const credentials = grpc.ServerCredentials.createSsl(
        null,
        [{ private_key: Buffer.from(serving.keyPem), cert_chain: Buffer.from(serving.certChainPem) }],
        false,
      );
      const target = server;
      return new Promise<number>((resolve, reject) => {
        target.bindAsync(`127.0.0.1:${port}`, credentials, (error, bound) => (error ? reject(error) : resolve(bound)));
      });
    },
    async stop() {
      const running = server;
      server = undefined;
      if (!running) return;
      await new Promise<void>((resolve) => {
        running.tryShutdown(() => resolve());
        // In-flight calls are never long here; force after a short grace so tests cannot hang.
        setTimeout(() => {
          running.forceShutdown();
          resolve();
        }, 1000).unref();
      });
    },
    async close() {
      await fixture.stop();
      await rm(stateDir, { recursive: true, force: true });
    },
  };
  return fixture;
}
