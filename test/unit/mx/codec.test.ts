// istio-peer-exchange frames: exact header and payload bytes, round trip of the peer metadata, and how
// Istio's node metadata Struct is read (non-string values ignored, absent optionals left out).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  decodeMetadataStruct,
  decodeStructAny,
  encodeExchange,
  encodeStructAny,
  ExchangeReader,
  MAX_PAYLOAD_BYTES,
  MX_MAGIC,
  type PeerMetadata,
} from '../../../src/dataplane/mx/codec.js';
import { L4meshError } from '../../../src/errors/index.js';

const RATINGS: PeerMetadata = {
  name: 'ratings-v1-7dc98c7588-abcde',
  namespace: 'default',
  workloadName: 'ratings-v1',
  clusterId: 'Kubernetes',
  identity: 'spiffe://cluster.local/ns/default/sa/bookinfo-ratings',
  owner: 'kubernetes://apis/apps/v1/namespaces/default/deployments/ratings-v1',
  labels: {
    app: 'ratings',
    version: 'v1',
    'service.istio.io/canonical-name': 'ratings',
    'service.istio.io/canonical-revision': 'v1',
  },
  region: 'eu-west-1',
  zone: 'eu-west-1a',
};
const NODE_ID = 'sidecar~10.1.0.7~ratings-v1-7dc98c7588-abcde.default~default.svc.cluster.local';

/** A length-delimited protobuf field with a one-byte tag; the length is a varint (7 bits a byte, low first). */
function ld(tag: number, payload: Buffer | string): Buffer {
  const body = typeof payload === 'string' ? Buffer.from(payload) : payload;
  const length: number[] = [];
  for (let n = body.length; ; n >>>= 7) {
    if (n < 0x80) {
      length.push(n);
      break;
    }
    length.push((n & 0x7f) | 0x80);
  }
  return Buffer.concat([Buffer.from([tag, ...length]), body]);
}
/** Struct map entry: Struct.fields (1) { key (1), value (2) }. */
const entry = (key: string, value: Buffer): Buffer => ld(0x0a, Buffer.concat([ld(0x0a, key), ld(0x12, value)]));
const stringValue = (s: string): Buffer => ld(0x1a, s); // Value.string_value = 3
const structValue = (fields: Buffer[]): Buffer => ld(0x2a, Buffer.concat(fields)); // Value.struct_value = 5

test('the frame is magic 0x3D230467 and the payload length, both big-endian, then Any(Struct) bytes', () => {
  const frame = encodeExchange({ name: 'a', namespace: 'b', workloadName: 'c', clusterId: 'd', labels: { app: 'x' } }, 'n1');
  const inner = [
    entry('CLUSTER_ID', stringValue('d')),
    entry('LABELS', structValue([entry('app', stringValue('x'))])),
    entry('NAME', stringValue('a')),
    entry('NAMESPACE', stringValue('b')),
    entry('WORKLOAD_NAME', stringValue('c')),
  ];
  const outer = Buffer.concat([entry('x-envoy-peer-metadata', structValue(inner)), entry('x-envoy-peer-metadata-id', stringValue('n1'))]);
  const any = Buffer.concat([ld(0x0a, 'type.googleapis.com/google.protobuf.Struct'), ld(0x12, outer)]);
  assert.equal(frame.subarray(0, 8).toString('hex'), '3d230467' + any.length.toString(16).padStart(8, '0'));
  assert.equal(frame.readUInt32BE(0), MX_MAGIC);
  assert.equal(frame.subarray(8).toString('hex'), any.toString('hex'));
});

test('a realistic frame has the header 3d23046700000294 and 660 payload bytes', () => {
  const frame = encodeExchange(RATINGS, NODE_ID);
  assert.equal(frame.subarray(0, 8).toString('hex'), '3d23046700000294');
  assert.equal(frame.length, 8 + 660);
});

test('encode then read gives back exactly the metadata, with the node id, and the trailing app bytes', () => {
  const app = Buffer.from('GET /ratings/0 HTTP/1.1\r\n\r\n');
  const decision = new ExchangeReader().push(Buffer.concat([encodeExchange(RATINGS, NODE_ID), app]));
  assert.deepEqual(decision, { kind: 'metadata', metadata: { ...RATINGS, nodeId: NODE_ID }, nodeId: NODE_ID, rest: app });
});

test('absent optional fields stay absent, empty labels stay empty, an empty node id is not sent', () => {
  const minimal: PeerMetadata = { name: 'p', namespace: 'ns', workloadName: 'w', clusterId: 'c1', labels: {} };
  const frame = encodeExchange(minimal, '');
  assert.deepEqual(decodeStructAny(frame.subarray(8)), {
    'x-envoy-peer-metadata': { CLUSTER_ID: 'c1', NAME: 'p', NAMESPACE: 'ns', WORKLOAD_NAME: 'w' },
  });
  assert.deepEqual(new ExchangeReader().push(frame), { kind: 'metadata', metadata: minimal, nodeId: undefined, rest: Buffer.alloc(0) });
});

test('decodeMetadataStruct keeps string values only, like Istio', () => {
  assert.deepEqual(
    decodeMetadataStruct({
      NAME: 'p',
      NAMESPACE: 7,
      CLUSTER_ID: null,
      IDENTITY: ['x'],
      OWNER: 'o',
      REGION: true,
      LABELS: { app: 'a', replicas: 3, nested: { x: 'y' } },
      ISTIO_VERSION: '1.22.0',
    }),
    { name: 'p', namespace: '', workloadName: '', clusterId: '', owner: 'o', labels: { app: 'a' } },
  );
  assert.deepEqual(decodeMetadataStruct({ LABELS: 'not a struct' }), { name: '', namespace: '', workloadName: '', clusterId: '', labels: {} });
});

test('a Struct without x-envoy-peer-metadata is consumed as a frame but yields no metadata', () => {
  const payload = encodeStructAny({ 'x-envoy-peer-metadata-id': 'n2', other: 1 });
  const header = Buffer.alloc(8);
  header.writeUInt32BE(MX_MAGIC, 0);
  header.writeUInt32BE(payload.length, 4);
  const decision = new ExchangeReader().push(Buffer.concat([header, payload, Buffer.from('x')]));
  assert.deepEqual(decision, { kind: 'metadata', metadata: undefined, nodeId: 'n2', rest: Buffer.from('x') });
});

test('all JSON value kinds survive a Struct round trip', () => {
  const struct = { s: 'x', n: 1.5, neg: -3, t: true, f: false, z: null, l: ['a', 2, null, { k: 'v' }], o: { p: { q: [] } } };
  assert.deepEqual(decodeStructAny(encodeStructAny(struct)), struct);
});

test('metadata that encodes past MAX_PAYLOAD_BYTES is refused before anything is written', () => {
  const labels: Record<string, string> = {};
  for (let i = 0; i < 100; i++) labels[`label-${i}`] = 'v'.repeat(1000);
  assert.throws(
    () => encodeExchange({ ...RATINGS, labels }, NODE_ID),
    (err: unknown) => {
      assert.ok(err instanceof L4meshError);
      assert.equal(err.code, 'L4MESH_ERR_PROTOCOL');
      assert.match(err.message, new RegExp(`over the ${MAX_PAYLOAD_BYTES}-byte limit`));
      return true;
    },
  );
});

test('decodeStructAny names the problem for another type URL', () => {
  assert.throws(
    () => decodeStructAny(ld(0x0a, 'type.googleapis.com/google.protobuf.Duration')),
    (err: unknown) => {
      assert.ok(err instanceof L4meshError);
      assert.equal(err.code, 'L4MESH_ERR_PROTOCOL');
      assert.match(err.message, /type_url is "type.googleapis.com\/google.protobuf.Duration"/);
      return true;
    },
  );
});

test('a peer\'s repeated frame decodes to one frozen metadata object; an exact frame leaves no view of its read behind', () => {
  const frame = encodeExchange(RATINGS, NODE_ID);
  const first = new ExchangeReader().push(Buffer.from(frame));
  const second = new ExchangeReader().push(Buffer.from(frame));
  assert.equal(first.kind, 'metadata');
  assert.equal(second.kind, 'metadata');
  if (first.kind !== 'metadata' || second.kind !== 'metadata') return;
  assert.equal(second.metadata, first.metadata, 'the same object, not an equal copy');
  assert.deepEqual(first.metadata, { ...RATINGS, nodeId: NODE_ID });
  assert.ok(Object.isFrozen(first.metadata) && Object.isFrozen(first.metadata!.labels));
  // Held by the caller for the connection's life: an empty view would pin the whole read.
  assert.equal(first.rest.length, 0);
  assert.equal(first.rest.buffer.byteLength, 0);
  // Another peer's frame is its own object.
  const other = new ExchangeReader().push(encodeExchange({ ...RATINGS, name: 'ratings-v1-7dc98c7588-fghij' }, NODE_ID));
  assert.ok(other.kind === 'metadata' && other.metadata !== first.metadata && other.metadata?.name === 'ratings-v1-7dc98c7588-fghij');
});
