// Encoding the mesh model as istio.workload / istio.security protobuf and back, byte-exact.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  decodeAddress,
  decodeAuthorization,
  decodeDeltaRequest,
  decodeDeltaResponse,
  encodeAuthorization,
  encodeDeltaRequest,
  encodeDeltaResponse,
  encodeService,
  encodeWorkload,
  resourceVersion,
  unpackAny,
} from '../../../src/proto/codec.js';
import { ADDRESS_TYPE_URL, AUTHORIZATION_TYPE_URL, type MeshWorkload } from '../../../src/api/mesh.js';
import { L4meshError } from '../../../src/errors/index.js';
import { authorization, service, workload } from './mesh-fixture.js';

test('a tiny workload encodes to the bytes derived by hand from the field numbers', () => {
  const w: MeshWorkload = {
    ...workload('a', '10.0.0.1'),
    uid: 'u',
    name: 'a',
    namespace: '',
    trustDomain: '',
    serviceAccount: '',
    node: '',
    canonicalName: '',
    canonicalRevision: '',
    workloadName: '',
    services: {},
    clusterId: '',
    labels: {},
  };
  // Address.workload (1, LEN 15) { name (1) "a"; addresses (3) 4 bytes 10.0.0.1; tunnel_protocol (5) HBONE=1;
  // uid (20 -> tag 0xa2 0x01) "u" }. Defaults (DEPLOYMENT, HEALTHY, capacity 1, '') are omitted.
  assert.equal(encodeWorkload(w).toString('hex'), '0a0f' + '0a0161' + '1a040a000001' + '2801' + 'a2010175');
});

test('the labels extension is field 1000 and maps are written in sorted key order', () => {
  const w: MeshWorkload = { ...workload('a', '10.0.0.1'), labels: { version: 'v1', app: 'r' } };
  const hex = encodeWorkload(w).toString('hex');
  // field 1000, LEN -> tag varint (1000<<3|2 = 8002) = c2 3e; entry { key(1) "app", value(2) "r" }
  assert.ok(hex.includes('c23e' + '08' + '0a03617070' + '120172' + 'c23e' + '0d' + '0a0776657273696f6e' + '12027631'), hex);
});

test('a workload with every field round-trips exactly', () => {
  const w = workload('ratings-v1-abc', 'fd00::a:1', {
    addresses: ['fd00::a:1', '10.1.2.3'],
    hostname: 'ratings-v1-abc.example',
    network: 'net1',
    tunnelProtocol: 'LEGACY_ISTIO_MTLS',
    waypoint: { hostname: { namespace: 'default', hostname: 'waypoint.default.svc.cluster.local' }, hboneMtlsPort: 15008 },
    workloadType: 'POD',
    services: {
      'default/ratings.default.svc.cluster.local': [{ servicePort: 9080, targetPort: 8080, appProtocol: 'HTTP2' }],
      'default/a.default.svc.cluster.local': [{ servicePort: 80, targetPort: 80 }],
    },
    authorizationPolicies: ['default/allow-ratings'],
    status: 'UNHEALTHY',
    capacity: 3,
  });
  const decoded = decodeAddress(encodeWorkload(w));
  assert.deepEqual(decoded, {
    workload: {
      ...w,
      services: {
        'default/a.default.svc.cluster.local': [{ servicePort: 80, targetPort: 80 }],
        'default/ratings.default.svc.cluster.local': [{ servicePort: 9080, targetPort: 8080, appProtocol: 'HTTP2' }],
      },
    },
  });
});

test('a service with a waypoint address round-trips exactly', () => {
  const s = service('ratings', '10.96.0.10', { waypoint: { address: { network: '', address: '10.0.0.9' }, hboneMtlsPort: 15008 } });
  assert.deepEqual(decodeAddress(encodeService(s)), { service: s });
});

test('an authorization with every match kind round-trips exactly', () => {
  const a = authorization('deny-evil', {
    scope: 'WORKLOAD_SELECTOR',
    action: 'ALLOW',
    rules: [
      {
        clauses: [
          {
            matches: [
              {
                namespaces: [{ exact: 'a' }, { prefix: 'b' }],
                notNamespaces: [{ suffix: 'c' }],
                principals: [{ presence: true }],
                notPrincipals: [{ exact: 'spiffe://cluster.local/ns/x/sa/y' }],
                sourceIps: ['10.0.0.0/8'],
                notSourceIps: ['fd00::/64'],
                destinationIps: ['192.168.1.1/32'],
                notDestinationIps: ['0.0.0.0/0'],
                destinationPorts: [80, 443],
                notDestinationPorts: [22],
              },
            ],
          },
        ],
      },
    ],
  });
  assert.deepEqual(decodeAuthorization(encodeAuthorization(a)), a);
});

test('a workload address of the wrong length is a protocol error naming the field', () => {
  // Address.workload { uid "u"; addresses: 3 bytes }
  const bytes = Buffer.from('0a09' + '1a030a0000' + 'a2010175', 'hex');
  assert.throws(() => decodeAddress(bytes), (err: L4meshError) => {
    assert.equal(err.code, 'L4MESH_ERR_PROTOCOL');
    assert.equal(err.message, 'workload "u": addresses[0] has 3 bytes, expected 4 or 16');
    return true;
  });
});

test('unpackAny refuses a type URL other than the expected one', () => {
  assert.throws(() => unpackAny({ typeUrl: AUTHORIZATION_TYPE_URL, value: Buffer.alloc(0) }, ADDRESS_TYPE_URL), {
    code: 'L4MESH_ERR_PROTOCOL',
    message: `resource has type ${AUTHORIZATION_TYPE_URL}, expected ${ADDRESS_TYPE_URL}`,
  });
});

test('equal resources have equal versions; any change gives a new one', () => {
  const w = workload('a', '10.0.0.1');
  const v1 = resourceVersion(encodeWorkload(w));
  assert.equal(v1, resourceVersion(encodeWorkload({ ...w, labels: { version: 'v1', app: 'ratings' } })));
  assert.match(v1, /^[0-9a-f]{16}$/);
  assert.notEqual(v1, resourceVersion(encodeWorkload({ ...w, status: 'UNHEALTHY' })));
});

test('a DeltaDiscoveryRequest NACK round-trips with its error detail', () => {
  const bytes = encodeDeltaRequest({
    node: { id: 'ztunnel~10.0.0.1~zt.istio-system~istio-system.svc.cluster.local' },
    typeUrl: ADDRESS_TYPE_URL,
    initialResourceVersions: { 'default/x': 'abc' },
    responseNonce: 'n1',
    errorDetail: { code: 3, message: 'bad' },
  });
  const req = decodeDeltaRequest(bytes);
  assert.equal(req.node?.id, 'ztunnel~10.0.0.1~zt.istio-system~istio-system.svc.cluster.local');
  assert.equal(req.typeUrl, ADDRESS_TYPE_URL);
  assert.deepEqual(req.initialResourceVersions, { 'default/x': 'abc' });
  assert.deepEqual(req.resourceNamesSubscribe, []);
  assert.equal(req.responseNonce, 'n1');
  assert.deepEqual({ code: req.errorDetail?.code, message: req.errorDetail?.message }, { code: 3, message: 'bad' });
});

test('a DeltaDiscoveryResponse envelope encodes Any as {type_url 1, value 2} with Envoy field numbers', () => {
  const bytes = encodeDeltaResponse({
    typeUrl: 't',
    nonce: 'n',
    removedResources: [],
    resources: [{ name: 'x', version: '1', resource: { typeUrl: 'tt', value: Buffer.from('ab') } }],
  });
  // resources (2) { version (1) "1"; resource (2) Any { type_url (1) "tt"; value (2) "ab" }; name (3) "x" };
  // type_url (4) "t"; nonce (5) "n"
  assert.equal(bytes.toString('hex'), '1210' + '0a0131' + '1208' + '0a027474' + '12026162' + '1a0178' + '220174' + '2a016e');
  const decoded = decodeDeltaResponse(bytes);
  assert.deepEqual(decoded.resources.map((r) => [r.name, r.version, r.resource?.typeUrl, Buffer.from(r.resource!.value).toString()]), [['x', '1', 'tt', 'ab']]);
});
