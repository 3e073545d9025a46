// Loads l4mesh's .proto files at run time (protobufjs) and encodes/decodes the xDS envelopes and
// mesh resources. Plain objects in, bytes out; field names are protobufjs camelCase.
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import protobuf from 'protobufjs';
import { L4meshError } from '../errors/index.js';
import { protoDir } from '../config/paths.js';
import {
  ADDRESS_TYPE_URL,
  AUTHORIZATION_TYPE_URL,
  TELEMETRY_TYPE_URL,
  type MeshAuthorization,
  type MeshService,
  type MeshTelemetry,
  type MeshWorkload,
} from '../api/mesh.js';
import {
  authorizationFromProto,
  authorizationToProto,
  serviceFromProto,
  serviceToProto,
  telemetryFromProto,
  telemetryToProto,
  workloadFromProto,
  workloadToProto,
} from './convert.js';

/** The .proto files this module needs, relative to protoDir(); imports are resolved from there too. */
export const XDS_PROTO_FILES = ['workload.proto', 'authorization.proto', 'telemetry.proto', 'envoy/service/discovery/v3/ads.proto'];

export const ADS_SERVICE_NAME = 'envoy.service.discovery.v3.AggregatedDiscoveryService';
export const DELTA_ADS_PATH = `/${ADS_SERVICE_NAME}/DeltaAggregatedResources`;

// Decoded objects: enums as names, 64-bit ints as numbers, bytes as Buffers, defaults present so
// readers never test for undefined repeated fields.
const TO_OBJECT: protobuf.IConversionOptions = { enums: String, longs: Number, defaults: true, arrays: true, objects: true, oneofs: true };

export interface AnyMessage {
  typeUrl: string;
  value: Uint8Array;
}
export interface StatusMessage {
  code: number;
  message: string;
}
export interface NodeMessage {
  id: string;
  cluster?: string;
  /** google.protobuf.Struct as protobufjs bundles it (snake_case): `{ fields: { k: { string_value: "v" } } }`. */
  metadata?: { fields: Record<string, unknown> } | null;
}
export interface DeltaDiscoveryRequest {
  node?: NodeMessage | null;
  typeUrl: string;
  resourceNamesSubscribe: string[];
  resourceNamesUnsubscribe: string[];
  initialResourceVersions: Record<string, string>;
  responseNonce: string;
  errorDetail?: StatusMessage | null;
}
export interface XdsResource {
  name: string;
  version: string;
  aliases?: string[];
  resource?: AnyMessage | null;
}
export interface DeltaDiscoveryResponse {
  systemVersionInfo?: string;
  resources: XdsResource[];
  typeUrl: string;
  nonce: string;
  removedResources: string[];
}

interface XdsTypes {
  address: protobuf.Type;
  authorization: protobuf.Type;
  telemetry: protobuf.Type;
  deltaRequest: protobuf.Type;
  deltaResponse: protobuf.Type;
}

let cached: XdsTypes | undefined;

function loadTypes(): XdsTypes {
  if (cached) return cached;
  const dir = protoDir();
  const root = new protobuf.Root();
  // Every import is relative to the proto root, like protoc -I src/proto.
  root.resolvePath = (_origin, target) => join(dir, target);
  try {
    root.loadSync(XDS_PROTO_FILES, { keepCase: false });
    camelCaseAny(root);
    root.resolveAll();
  } catch (err) {
    throw new L4meshError('L4MESH_ERR_CONFIG', `cannot load the xDS .proto files from ${dir}: ${(err as Error).message}`, { cause: err });
  }
  cached = {
    address: root.lookupType('istio.workload.Address'),
    authorization: root.lookupType('istio.security.Authorization'),
    telemetry: root.lookupType('l4mesh.telemetry.Telemetry'),
    deltaRequest: root.lookupType('envoy.service.discovery.v3.DeltaDiscoveryRequest'),
    deltaResponse: root.lookupType('envoy.service.discovery.v3.DeltaDiscoveryResponse'),
  };
  return cached;
}

// protobufjs writes every field present on the message, even '' or 0. Canonical proto3 omits
// default scalars, and so do Go/Rust encoders; pruning them keeps our bytes identical to theirs.
// Oneof members stay: there, presence itself is the information.
function pruneDefaults(type: protobuf.Type, msg: Record<string, any>): void {
  for (const field of type.fieldsArray) {
    const value = msg[field.name];
    if (value === undefined || value === null) continue;
    const nested = field.resolvedType instanceof protobuf.Type ? field.resolvedType : undefined;
    if (field.map) {
      if (nested) for (const v of Object.values(value)) pruneDefaults(nested, v as Record<string, any>);
    } else if (field.repeated) {
      if (nested) for (const v of value) pruneDefaults(nested, v);
    } else if (nested) {
      pruneDefaults(nested, value);
    } else if (!field.partOf) {
      const isDefault = value instanceof Uint8Array ? value.length === 0 : value === field.typeDefault;
      if (isDefault) delete msg[field.name];
    }
  }
}

// protobufjs bundles google/protobuf/any.proto as JSON with the field spelled `type_url`, unlike
// the camelCase our .proto files get; respell it in this private root so every Any is {typeUrl, value}.
function camelCaseAny(root: protobuf.Root): void {
  const any = root.lookupType('google.protobuf.Any');
  const typeUrl = any.fields['type_url'];
  if (!typeUrl) return;
  any.remove(typeUrl);
  any.add(new protobuf.Field('typeUrl', typeUrl.id, 'string'));
}

function encodeWith(type: protobuf.Type, obj: object): Buffer {
  const msg = type.fromObject(obj as Record<string, unknown>);
  pruneDefaults(type, msg as unknown as Record<string, any>);
  const bytes = type.encode(msg).finish();
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

function decodeWith<T>(type: protobuf.Type, bytes: Uint8Array): T {
  try {
    return type.toObject(type.decode(bytes), TO_OBJECT) as T;
  } catch (err) {
    throw new L4meshError('L4MESH_ERR_PROTOCOL', `cannot decode ${type.fullName.slice(1)}: ${(err as Error).message}`, { cause: err });
  }
}

export function encodeDeltaRequest(req: Partial<DeltaDiscoveryRequest>): Buffer {
  return encodeWith(loadTypes().deltaRequest, req);
}
export function decodeDeltaRequest(bytes: Uint8Array): DeltaDiscoveryRequest {
  return decodeWith(loadTypes().deltaRequest, bytes);
}
export function encodeDeltaResponse(res: DeltaDiscoveryResponse): Buffer {
  return encodeWith(loadTypes().deltaResponse, res);
}
export function decodeDeltaResponse(bytes: Uint8Array): DeltaDiscoveryResponse {
  return decodeWith(loadTypes().deltaResponse, bytes);
}

/** istio.workload.Address bytes of a workload (the Any value of an Address resource). */
export function encodeWorkload(w: MeshWorkload): Buffer {
  return encodeWith(loadTypes().address, { workload: workloadToProto(w) });
}
export function encodeService(s: MeshService): Buffer {
  return encodeWith(loadTypes().address, { service: serviceToProto(s) });
}
export function encodeAuthorization(a: MeshAuthorization): Buffer {
  return encodeWith(loadTypes().authorization, authorizationToProto(a));
}

export type DecodedAddress = { workload: MeshWorkload } | { service: MeshService };

export function decodeAddress(bytes: Uint8Array): DecodedAddress {
  const msg = decodeWith<{ type?: string; workload?: Record<string, unknown>; service?: Record<string, unknown> }>(loadTypes().address, bytes);
  if (msg.type === 'workload' && msg.workload) return { workload: workloadFromProto(msg.workload) };
  if (msg.type === 'service' && msg.service) return { service: serviceFromProto(msg.service) };
  throw new L4meshError('L4MESH_ERR_PROTOCOL', 'istio.workload.Address has neither workload nor service set');
}
export function decodeAuthorization(bytes: Uint8Array): MeshAuthorization {
  return authorizationFromProto(decodeWith(loadTypes().authorization, bytes));
}

/** l4mesh.telemetry.Telemetry bytes (the Any value of a Telemetry resource). */
export function encodeTelemetry(t: MeshTelemetry): Buffer {
  return encodeWith(loadTypes().telemetry, telemetryToProto(t));
}
export function decodeTelemetry(bytes: Uint8Array): MeshTelemetry {
  return telemetryFromProto(decodeWith(loadTypes().telemetry, bytes));
}

/** The value of an Any whose type is `expected`; a different type is a protocol error (the client NACKs it). */
export function unpackAny(any: AnyMessage | null | undefined, expected: string): Uint8Array {
  if (!any) throw new L4meshError('L4MESH_ERR_PROTOCOL', `resource has no body (expected ${expected})`);
  if (any.typeUrl !== expected) {
    throw new L4meshError('L4MESH_ERR_PROTOCOL', `resource has type ${any.typeUrl || '<empty>'}, expected ${expected}`);
  }
  return any.value;
}

// A version is a digest of the encoded resource: equal bytes, equal version, across restarts and
// control-plane replicas, so a reconnecting proxy is not resent what it already holds.
const VERSION_HEX_CHARS = 16;

export function resourceVersion(encoded: Uint8Array): string {
  return createHash('sha256').update(encoded).digest('hex').slice(0, VERSION_HEX_CHARS);
}

export { ADDRESS_TYPE_URL, AUTHORIZATION_TYPE_URL, TELEMETRY_TYPE_URL };
