// The istio-peer-exchange payload: a google.protobuf.Any wrapping a Struct, and the peer metadata inside it.
import protobuf from 'protobufjs';
import { L4meshError } from '../../errors/index.js';

/** What one side tells the other about itself (Istio's node metadata, the subset l4mesh uses). */
export interface PeerMetadata {
  /** NAME: the instance (pod) name. */
  name: string;
  namespace: string;
  /** WORKLOAD_NAME: the Deployment-like workload, e.g. `ratings-v2`. */
  workloadName: string;
  clusterId: string;
  /** IDENTITY: the SPIFFE id the workload runs as. */
  identity?: string;
  /** OWNER: e.g. `kubernetes://apis/apps/v1/namespaces/default/deployments/ratings-v2`. */
  owner?: string;
  labels: Record<string, string>;
  region?: string;
  zone?: string;
  /** The peer's `x-envoy-peer-metadata-id` (its node id), when it sent one. */
  nodeId?: string;
}

/** google.protobuf.Struct in its JSON mapping: what Python's json_format and our tests compare. */
export type JsonValue = null | boolean | number | string | JsonValue[] | { [key: string]: JsonValue };
export type JsonStruct = { [key: string]: JsonValue };

export const STRUCT_TYPE_URL = 'type.googleapis.com/google.protobuf.Struct';
/** The outer Struct's keys, as Istio's metadata exchange filter spells them. */
export const PEER_METADATA_KEY = 'x-envoy-peer-metadata';
export const PEER_METADATA_ID_KEY = 'x-envoy-peer-metadata-id';

/**
 * Nesting allowed when turning a received Struct into JSON. Peer metadata is two levels deep (the outer
 * Struct, LABELS); 64 matches what protobuf runtimes accept by default (Python allows 100) while keeping a
 * hostile payload from recursing deeply through our own code.
 */
const MAX_STRUCT_DEPTH = 64;

// protobufjs ships the well-known types as JSON descriptors; one private root holds Any and Struct.
const root = protobuf.Root.fromJSON(protobuf.common.get('google/protobuf/struct.proto') as protobuf.INamespace);
root.addJSON((protobuf.common.get('google/protobuf/any.proto') as protobuf.INamespace).nested!);
const AnyType = root.lookupType('google.protobuf.Any');
const StructType = root.lookupType('google.protobuf.Struct');

interface ValueMessage {
  nullValue?: number;
  numberValue?: number;
  stringValue?: string;
  boolValue?: boolean;
  structValue?: StructMessage;
  listValue?: { values?: ValueMessage[] };
}
interface StructMessage {
  fields?: Record<string, ValueMessage>;
}

function toValueMessage(v: JsonValue): ValueMessage {
  if (v === null) return { nullValue: 0 };
  if (typeof v === 'string') return { stringValue: v };
  if (typeof v === 'number') return { numberValue: v };
  if (typeof v === 'boolean') return { boolValue: v };
  if (Array.isArray(v)) return { listValue: { values: v.map(toValueMessage) } };
  return { structValue: toStructMessage(v) };
}

function toStructMessage(s: JsonStruct): StructMessage {
  // Sorted keys, like Envoy's deterministic serialization: the same metadata always gives the same bytes.
  const fields: Record<string, ValueMessage> = {};
  for (const key of Object.keys(s).sort()) fields[key] = toValueMessage(s[key]!);
  return { fields };
}

function has(msg: object, field: string): boolean {
  // Decoded protobufjs messages carry set fields as own properties and defaults on the prototype.
  return Object.prototype.hasOwnProperty.call(msg, field);
}

function fromValueMessage(v: ValueMessage | null | undefined, depth: number): JsonValue {
  if (depth > MAX_STRUCT_DEPTH) throw new RangeError(`Struct nested deeper than ${MAX_STRUCT_DEPTH} levels`);
  if (!v) return null;
  if (has(v, 'stringValue')) return v.stringValue!;
  if (has(v, 'numberValue')) return v.numberValue!;
  if (has(v, 'boolValue')) return v.boolValue!;
  if (has(v, 'structValue')) return fromStructMessage(v.structValue!, depth + 1);
  if (has(v, 'listValue')) return (v.listValue!.values ?? []).map((e) => fromValueMessage(e, depth + 1));
  return null;
}

function fromStructMessage(s: StructMessage, depth: number): JsonStruct {
  const out: JsonStruct = {};
  for (const [key, value] of Object.entries(s.fields ?? {})) out[key] = fromValueMessage(value, depth + 1);
  return out;
}

/** Serializes a Struct (JSON mapping) as the bytes of an Any with the Struct type URL. */
export function encodeStructAny(struct: JsonStruct): Buffer {
  const value = StructType.encode(toStructMessage(struct)).finish();
  const any = AnyType.encode({ type_url: STRUCT_TYPE_URL, value }).finish();
  return Buffer.from(any.buffer, any.byteOffset, any.byteLength);
}

/**
 * Parses Any bytes holding a Struct. Throws an L4meshError (L4MESH_ERR_PROTOCOL) for anything else: bad
 * wire format, another type URL, excessive nesting.
 */
export function decodeStructAny(bytes: Uint8Array): JsonStruct {
  try {
    const any = AnyType.decode(bytes) as unknown as { type_url?: string; value?: Uint8Array };
    const typeUrl = any.type_url ?? '';
    // Only the part after the last '/' names the type; the host part is conventional.
    if (typeUrl.slice(typeUrl.lastIndexOf('/') + 1) !== 'google.protobuf.Struct') {
      throw new Error(`type_url is ${JSON.stringify(typeUrl)}, expected ${STRUCT_TYPE_URL}`);
    }
    const struct = StructType.decode(any.value ?? new Uint8Array(0)) as unknown as StructMessage;
    return fromStructMessage(struct, 0);
  } catch (err) {
    throw new L4meshError(
      'L4MESH_ERR_PROTOCOL',
      `peer metadata is not a google.protobuf.Any holding a Struct (${(err as Error).message}); ` +
        'the peer may not be an Istio-compatible proxy',
      { cause: err },
    );
  }
}

/** Our metadata as Istio's node metadata Struct (NAME, NAMESPACE, ..., LABELS). Absent optionals are left out. */
export function metadataToStruct(meta: PeerMetadata): JsonStruct {
  const s: JsonStruct = {
    NAME: meta.name,
    NAMESPACE: meta.namespace,
    WORKLOAD_NAME: meta.workloadName,
    CLUSTER_ID: meta.clusterId,
  };
  if (meta.identity !== undefined) s.IDENTITY = meta.identity;
  if (meta.owner !== undefined) s.OWNER = meta.owner;
  if (meta.region !== undefined) s.REGION = meta.region;
  if (meta.zone !== undefined) s.AVAILABILITY_ZONE = meta.zone;
  // Istio leaves LABELS out when there are none; decoding gives {} either way.
  if (Object.keys(meta.labels).length > 0) s.LABELS = { ...meta.labels };
  return s;
}

function stringField(s: JsonStruct, key: string): string | undefined {
  const v = s[key];
  return typeof v === 'string' ? v : undefined;
}

/**
 * Reads Istio's node metadata Struct (the value of `x-envoy-peer-metadata`). Like Istio, non-string values
 * are ignored: required names become '' and optional ones stay absent, and only string labels are kept.
 */
export function decodeMetadataStruct(struct: JsonStruct): PeerMetadata {
  const meta: PeerMetadata = {
    name: stringField(struct, 'NAME') ?? '',
    namespace: stringField(struct, 'NAMESPACE') ?? '',
    workloadName: stringField(struct, 'WORKLOAD_NAME') ?? '',
    clusterId: stringField(struct, 'CLUSTER_ID') ?? '',
    labels: {},
  };
  const optional: Array<[keyof PeerMetadata, string]> = [
    ['identity', 'IDENTITY'],
    ['owner', 'OWNER'],
    ['region', 'REGION'],
    ['zone', 'AVAILABILITY_ZONE'],
  ];
  for (const [field, key] of optional) {
    const v = stringField(struct, key);
    if (v !== undefined) (meta as unknown as Record<string, unknown>)[field] = v;
  }
  const labels = struct.LABELS;
  if (labels && typeof labels === 'object' && !Array.isArray(labels)) {
    for (const [k, v] of Object.entries(labels)) if (typeof v === 'string') meta.labels[k] = v;
  }
  return meta;
}

/** The outer exchange Struct: our metadata and, when non-empty, our node id (as Istio does). */
export function exchangeStruct(meta: PeerMetadata, nodeId: string): JsonStruct {
  const s: JsonStruct = { [PEER_METADATA_KEY]: metadataToStruct(meta) };
  if (nodeId !== '') s[PEER_METADATA_ID_KEY] = nodeId;
  return s;
}

/** The peer's metadata and node id from the outer Struct; metadata is absent unless it is a Struct. */
export function readExchangeStruct(struct: JsonStruct): { metadata?: PeerMetadata; nodeId?: string } {
  const out: { metadata?: PeerMetadata; nodeId?: string } = {};
  const id = stringField(struct, PEER_METADATA_ID_KEY);
  if (id !== undefined) out.nodeId = id;
  const inner = struct[PEER_METADATA_KEY];
  if (inner && typeof inner === 'object' && !Array.isArray(inner)) {
    out.metadata = decodeMetadataStruct(inner);
    if (id !== undefined) out.metadata.nodeId = id;
  }
  return out;
}
