// The proxy's client of the mesh CA: generates a key per identity and asks the control plane to sign it.
import * as grpc from '@grpc/grpc-js';
import { L4meshError, type ErrorCode } from '../errors/index.js';
import { CONTROL_PLANE_SERVER_NAME } from '../config/mesh-constants.js';
import { DEFAULT_BACKOFF } from '../retry/backoff.js';
import { IMPERSONATED_IDENTITY_KEY, caClientConstructor, stringStruct, type IstioCertificateResponse } from './ca-proto.js';
import { generateCsr } from './csr.js';
import { workloadCertificateFromChain, type WorkloadCertificate } from './workload-certificate.js';

/** A CA answer normally takes milliseconds; 10 s leaves room for a loaded control plane without hanging rotation. */
export const DEFAULT_CA_REQUEST_TIMEOUT_MS = 10_000;

export interface CaClientOptions {
  /**
   * `host:port` of the control plane's gRPC listener (CONTROL_PLANE_GRPC_PORT), or several, comma-separated
   * (replicas): a request the one in use cannot answer goes to the next.
   */
  address: string;
  /** The mesh root, PEM: the only authority trusted for the control plane's serving certificate. */
  rootCertPem: string;
  /** This node's join token, sent as `authorization: Bearer <token>`. */
  token: string;
  /** Name sent as SNI and verified in the control plane's certificate (default CONTROL_PLANE_SERVER_NAME). */
  serverName?: string;
  requestTimeoutMs?: number;
}

/** What CertificateManager needs from a CA client; tests substitute fakes. */
export interface CertificateSource {
  requestCertificate(spiffeId: string, ttlSeconds?: number): Promise<WorkloadCertificate>;
}

/** A refused or failed CA call; `grpcCode` is the status the control plane (or the channel) gave. */
export class CaRequestError extends L4meshError {
  readonly grpcCode: grpc.status;
  constructor(code: ErrorCode, message: string, grpcCode: grpc.status, cause: unknown) {
    super(code, message, { cause });
    this.grpcCode = grpcCode;
  }
}

/** Statuses meaning "this replica cannot answer" (rather than "the request is wrong"): try the next one. */
const FAILOVER_STATUSES = new Set([grpc.status.UNAVAILABLE, grpc.status.DEADLINE_EXCEEDED]);

export class CaClient implements CertificateSource {
  readonly #clients: Array<{ address: string; client: grpc.Client }>;
  /** The replica that answered last: tried first next time. */
  #preferred = 0;
  readonly #token: string;
  readonly #timeoutMs: number;

  constructor(options: CaClientOptions) {
    if (!options.address) throw new L4meshError('L4MESH_ERR_CONFIG', 'CaClient: option "address" (host:port of the control plane) is required');
    if (!options.token) throw new L4meshError('L4MESH_ERR_CONFIG', 'CaClient: option "token" (the node token) is required');
    const credentials = grpc.credentials.createSsl(Buffer.from(options.rootCertPem));
    const channelOptions: grpc.ChannelOptions = {
      // grpc-js waits 1 s, then longer, before redialing a channel that failed; follow our own backoff instead
      // so a control plane that comes back is used within milliseconds.
      'grpc.initial_reconnect_backoff_ms': DEFAULT_BACKOFF.initialMs,
      'grpc.max_reconnect_backoff_ms': DEFAULT_BACKOFF.maxMs,
    };
    // Not the address: that is usually an IP, and RFC 6066 forbids an IP as TLS server name (Node warns DEP0123).
    const serverName = options.serverName ?? CONTROL_PLANE_SERVER_NAME;
    channelOptions['grpc.ssl_target_name_override'] = serverName;
    channelOptions['grpc.default_authority'] = serverName;
    const Client = caClientConstructor();
    const addresses = options.address.split(',').map((a) => a.trim()).filter((a) => a !== '');
    this.#clients = addresses.map((address) => ({ address, client: new Client(address, credentials, channelOptions) }));
    this.#token = options.token;
    this.#timeoutMs = options.requestTimeoutMs ?? DEFAULT_CA_REQUEST_TIMEOUT_MS;
  }

  /** A new key and a CA-signed certificate for `spiffeId`; `ttlSeconds` omitted lets the CA choose (24 h). */
  async requestCertificate(spiffeId: string, ttlSeconds?: number): Promise<WorkloadCertificate> {
    const { keyPem, csrPem } = await generateCsr(spiffeId);
    const metadata = new grpc.Metadata();
    metadata.set('authorization', `Bearer ${this.#token}`);
    const request = {
      csr: csrPem,
      validity_duration: ttlSeconds ?? 0,
      metadata: stringStruct({ [IMPERSONATED_IDENTITY_KEY]: spiffeId }),
    };
    let failure: CaRequestError | undefined;
    for (let i = 0; i < this.#clients.length; i++) {
      const index = (this.#preferred + i) % this.#clients.length;
      const { address, client } = this.#clients[index]!;
      try {
        const response = await new Promise<IstioCertificateResponse>((resolve, reject) => {
          const deadline = new Date(Date.now() + this.#timeoutMs);
          const createCertificate = (client as unknown as Record<string, Function>)['CreateCertificate']!;
          createCertificate.call(client, request, metadata, { deadline }, (error: grpc.ServiceError | null, answer?: IstioCertificateResponse) => {
            if (error) reject(this.#describe(error, spiffeId, address));
            else resolve(answer ?? { cert_chain: [] });
          });
        });
        this.#preferred = index;
        return workloadCertificateFromChain(spiffeId, keyPem, response.cert_chain ?? []);
      } catch (err) {
        if (!(err instanceof CaRequestError) || !FAILOVER_STATUSES.has(err.grpcCode)) throw err;
        failure = err;
      }
    }
    throw failure!;
  }

  close(): void {
    for (const c of this.#clients) c.client.close();
  }

  #describe(error: grpc.ServiceError, spiffeId: string, address: string): CaRequestError {
    const byStatus: Partial<Record<grpc.status, ErrorCode>> = {
      [grpc.status.UNAVAILABLE]: 'L4MESH_ERR_NO_CONTROL_PLANE',
      [grpc.status.DEADLINE_EXCEEDED]: 'L4MESH_ERR_NO_CONTROL_PLANE',
      [grpc.status.UNAUTHENTICATED]: 'L4MESH_ERR_UNAUTHENTICATED',
      [grpc.status.PERMISSION_DENIED]: 'L4MESH_ERR_PERMISSION_DENIED',
      [grpc.status.INVALID_ARGUMENT]: 'L4MESH_ERR_INVALID_CSR',
    };
    const code = byStatus[error.code] ?? 'L4MESH_ERR_CERTIFICATE';
    const hint = code === 'L4MESH_ERR_NO_CONTROL_PLANE' ? ` (is the control plane running and reachable at ${address}?)` : '';
    const message = `certificate for ${spiffeId} from ${address}: ${grpc.status[error.code]}: ${error.details}${hint}`;
    return new CaRequestError(code, message, error.code, error);
  }
}
