// The wire definition of Istio's CA service (src/proto/ca.proto), loaded once for the CA server and client.
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { protoDir } from '../config/paths.js';

export const CA_SERVICE_NAME = 'istio.v1.auth.IstioCertificateService';
/** ztunnel's metadata key naming the workload identity a node proxy requests a certificate for. */
export const IMPERSONATED_IDENTITY_KEY = 'ImpersonatedIdentity';

/**
 * google.protobuf.Value as decoded. protobufjs always substitutes its bundled copy of the well-known
 * types (whatever .proto files are on the include path), and that copy spells fields in camelCase.
 */
export interface StructValue {
  nullValue?: unknown;
  numberValue?: number;
  stringValue?: string;
  boolValue?: boolean;
  structValue?: StructMessage;
  listValue?: { values?: StructValue[] };
  kind?: string;
}

export interface StructMessage {
  fields?: Record<string, StructValue>;
}

export interface IstioCertificateRequest {
  csr: string;
  validity_duration: number;
  metadata?: StructMessage | null;
}

export interface IstioCertificateResponse {
  cert_chain: string[];
}

let cachedDefinition: grpc.ServiceDefinition | undefined;

/** The service definition, with proto field names kept (cert_chain, validity_duration) and int64 as Number. */
export function caServiceDefinition(): grpc.ServiceDefinition {
  if (cachedDefinition) return cachedDefinition;
  const packageDefinition = protoLoader.loadSync('ca.proto', {
    includeDirs: [protoDir()],
    keepCase: true,
    longs: Number,
    enums: String,
    defaults: true,
    oneofs: true,
  });
  const loaded = grpc.loadPackageDefinition(packageDefinition) as unknown as {
    istio: { v1: { auth: { IstioCertificateService: grpc.ServiceClientConstructor } } };
  };
  cachedDefinition = loaded.istio.v1.auth.IstioCertificateService.service;
  return cachedDefinition;
}

/** A client constructor for the service, built from the same definition. */
export function caClientConstructor(): grpc.ServiceClientConstructor {
  return grpc.makeGenericClientConstructor(caServiceDefinition(), CA_SERVICE_NAME);
}

/** Reads a string field of a Struct; undefined when absent or not a string. */
export function structString(struct: StructMessage | null | undefined, key: string): string | undefined {
  const value = struct?.fields?.[key];
  return value?.kind === 'stringValue' && typeof value.stringValue === 'string' ? value.stringValue : undefined;
}

/** A Struct with string fields, as a request's `metadata`. */
export function stringStruct(values: Record<string, string>): StructMessage {
  const fields: Record<string, StructValue> = {};
  for (const [key, value] of Object.entries(values)) fields[key] = { stringValue: value };
  return { fields };
}
