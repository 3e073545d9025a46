// Istio's IstioCertificateService on the control plane's gRPC server: authenticates the node, authorizes
// the identity, and signs the CSR.
import * as grpc from '@grpc/grpc-js';
import { L4meshError } from '../../errors/index.js';
import {
  IMPERSONATED_IDENTITY_KEY,
  caServiceDefinition,
  structString,
  type IstioCertificateRequest,
  type IstioCertificateResponse,
} from '../../identity/ca-proto.js';
import { checkCsr } from '../../identity/csr.js';
import type { NodeTokens } from './node-tokens.js';
import type { RootCa } from './root-ca.js';

/** 24 h, as DESIGN.md §4 and Istio's default workload certificate TTL. */
export const DEFAULT_WORKLOAD_TTL_SECONDS = 24 * 3600;
/** 30 days: longer requests are cut down, so a leaked certificate does not outlive a month. */
export const DEFAULT_MAX_WORKLOAD_TTL_SECONDS = 30 * 24 * 3600;

export interface CaServiceDeps {
  ca: RootCa;
  tokens: NodeTokens;
  /** SPIFFE ids of the workloads on `node`: the only identities that node's proxy may obtain. */
  identitiesOnNode(node: string): Set<string>;
  defaultTtlSeconds?: number;
  maxTtlSeconds?: number;
  log?: (line: string) => void;
}

type Call = grpc.ServerUnaryCall<IstioCertificateRequest, IstioCertificateResponse>;
type Callback = grpc.sendUnaryData<IstioCertificateResponse>;

/** A refusal with its gRPC status; its message is what the proxy's operator reads. */
class CaRefusal extends Error {
  constructor(readonly status: grpc.status, message: string) {
    super(message);
  }
}

export function addCaService(server: grpc.Server, deps: CaServiceDeps): void {
  const defaultTtl = deps.defaultTtlSeconds ?? DEFAULT_WORKLOAD_TTL_SECONDS;
  const maxTtl = deps.maxTtlSeconds ?? DEFAULT_MAX_WORKLOAD_TTL_SECONDS;
  const log = deps.log ?? (() => {});

  async function createCertificate(call: Call): Promise<IstioCertificateResponse> {
    const node = authenticate(call.metadata, deps.tokens);
    const request = call.request;
    let uris: string[];
    try {
      ({ uris } = await checkCsr(request.csr ?? ''));
    } catch (error) {
      throw new CaRefusal(grpc.status.INVALID_ARGUMENT, `node ${node}: ${(error as Error).message}`);
    }
    if (uris.length !== 1) {
      throw new CaRefusal(grpc.status.INVALID_ARGUMENT, `node ${node}: the CSR must carry exactly one URI SAN (the SPIFFE id), it has ${uris.length}`);
    }
    const csrIdentity = uris[0]!;
    const requested = structString(request.metadata, IMPERSONATED_IDENTITY_KEY) ?? csrIdentity;
    if (requested !== csrIdentity) {
      throw new CaRefusal(
        grpc.status.PERMISSION_DENIED,
        `node ${node} asked for identity ${requested} but its CSR names ${csrIdentity}; the two must be equal`,
      );
    }
    if (!deps.identitiesOnNode(node).has(requested)) {
      throw new CaRefusal(
        grpc.status.PERMISSION_DENIED,
        `node ${node} may not obtain identity ${requested}: no workload with that identity is scheduled on node ${node}`,
      );
    }
    const requestedTtl = Number(request.validity_duration ?? 0);
    const ttl = requestedTtl > 0 ? Math.min(requestedTtl, maxTtl) : defaultTtl;
    const chain = await deps.ca.issueWorkloadCertificate(request.csr, requested, ttl);
    log(`ca: issued ${requested} to node ${node}, ttl ${ttl}s`);
    return { cert_chain: chain };
  }

  server.addService(caServiceDefinition(), {
    CreateCertificate(call: Call, callback: Callback): void {
      createCertificate(call).then(
        (response) => callback(null, response),
        (error: unknown) => {
          const refusal = toRefusal(error);
          log(`ca: refused ${call.getPeer()}: ${grpc.status[refusal.status]}: ${refusal.message}`);
          callback({ code: refusal.status, details: refusal.message, metadata: new grpc.Metadata() });
        },
      );
    },
  });
}

function authenticate(metadata: grpc.Metadata, tokens: NodeTokens): string {
  const header = metadata.get('authorization')[0];
  if (typeof header !== 'string' || header === '') {
    throw new CaRefusal(grpc.status.UNAUTHENTICATED, 'no "authorization: Bearer <node token>" metadata; start the proxy with its node token');
  }
  const match = /^Bearer\s+(\S+)$/i.exec(header.trim());
  if (!match) {
    throw new CaRefusal(grpc.status.UNAUTHENTICATED, 'the authorization metadata is not of the form "Bearer <node token>"');
  }
  const node = tokens.verify(match[1]!);
  if (node === undefined) {
    throw new CaRefusal(grpc.status.UNAUTHENTICATED, 'unknown node token; issue a new one for this node on the control plane');
  }
  return node;
}

function toRefusal(error: unknown): CaRefusal {
  if (error instanceof CaRefusal) return error;
  if (error instanceof L4meshError && error.code === 'L4MESH_ERR_INVALID_CSR') return new CaRefusal(grpc.status.INVALID_ARGUMENT, error.message);
  return new CaRefusal(grpc.status.INTERNAL, `certificate signing failed: ${(error as Error)?.message ?? String(error)}`);
}
