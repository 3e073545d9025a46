// Telemetry resources from the store reach proxies as l4mesh.telemetry.Telemetry: registry conversion,
// protobuf round trip (presence of `disabled: false` and `reportingInterval` kept), encoder and apply.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { TELEMETRY_TYPE_URL, type MeshTelemetry } from '../../../src/api/mesh.js';
import type { Resource } from '../../../src/api/types.js';
import { convertTelemetry } from '../../../src/controlplane/registry/telemetries.js';
import { Registry } from '../../../src/controlplane/registry/registry.js';
import { ResourceEncoder, SERVED_TYPE_URLS } from '../../../src/controlplane/xds/resources.js';
import { parseNodeId } from '../../../src/controlplane/registry/source.js';
import { applyDeltaResponse, emptySnapshot } from '../../../src/dataplane/xds/apply.js';
import { decodeTelemetry, encodeTelemetry } from '../../../src/proto/codec.js';
import { FakeInput } from '../registry/fake-input.js';

const telemetryResource: Resource = {
  apiVersion: 'telemetry.istio.io/v1',
  kind: 'Telemetry',
  metadata: { name: 'ratings-metrics', namespace: 'default', creationTimestamp: '2024-05-01T10:00:00Z' },
  spec: {
    selector: { matchLabels: { app: 'ratings' } },
    metrics: [
      {
        providers: [{ name: 'prometheus' }],
        reportingInterval: '1s',
        overrides: [
          { match: { metric: 'TCP_SENT_BYTES', mode: 'CLIENT' }, disabled: true },
          { match: { metric: 'ALL_METRICS' }, disabled: false, tagOverrides: { source_app: { operation: 'REMOVE' }, team: { value: 'blue' } } },
        ],
      },
    ],
  },
};

const expected: MeshTelemetry = {
  name: 'ratings-metrics',
  namespace: 'default',
  creationTimestamp: '2024-05-01T10:00:00Z',
  selector: { app: 'ratings' },
  metrics: [
    {
      providers: ['prometheus'],
      reportingInterval: '1s',
      overrides: [
        { match: { metric: 'TCP_SENT_BYTES', mode: 'CLIENT' }, disabled: true, tagOverrides: {} },
        { match: { metric: 'ALL_METRICS' }, disabled: false, tagOverrides: { source_app: { operation: 'REMOVE' }, team: { value: 'blue' } } },
      ],
    },
  ],
};

test('a stored Telemetry converts to MeshTelemetry and survives the protobuf round trip exactly', () => {
  const t = convertTelemetry(telemetryResource);
  assert.deepEqual(t, expected);
  assert.deepEqual(decodeTelemetry(encodeTelemetry(t)), expected);
  // An unset `disabled` and interval stay unset (not false / '').
  const bare: MeshTelemetry = { name: 'x', namespace: 'istio-system', creationTimestamp: '', selector: {}, metrics: [{ providers: [], overrides: [{ tagOverrides: {} }] }] };
  assert.deepEqual(decodeTelemetry(encodeTelemetry(bare)), bare);
});

test('the registry carries Telemetry; the encoder serves it under the l4mesh type URL; the proxy applies add and removal', async () => {
  const input = new FakeInput([telemetryResource]);
  const registry = new Registry(input, { debounceMs: 0 });
  try {
    assert.ok((SERVED_TYPE_URLS as readonly string[]).includes(TELEMETRY_TYPE_URL));
    assert.deepEqual([...registry.current().telemetries!.keys()], ['default/ratings-metrics']);
    const proxy = parseNodeId('ztunnel~127.0.0.1~ztunnel-node-1.istio-system~istio-system.svc.cluster.local')!;
    const encoded = new ResourceEncoder().resourcesOfType(TELEMETRY_TYPE_URL, proxy, registry.current());
    const r = encoded.get('default/ratings-metrics')!;
    assert.equal(r.body.typeUrl, TELEMETRY_TYPE_URL);
    assert.equal(r.version.length, 16);

    const applied = applyDeltaResponse(emptySnapshot(), {
      typeUrl: TELEMETRY_TYPE_URL,
      nonce: 'n1',
      resources: [{ name: r.name, version: r.version, resource: r.body }],
      removedResources: [],
    });
    assert.deepEqual(applied.snapshot.telemetries!.get('default/ratings-metrics'), expected);
    assert.deepEqual(applied.changed, { workloads: [], services: [], authorizations: [], telemetries: ['default/ratings-metrics'], removed: [] });
    const removed = applyDeltaResponse(applied.snapshot, { typeUrl: TELEMETRY_TYPE_URL, nonce: 'n2', resources: [], removedResources: ['default/ratings-metrics'] });
    assert.equal(removed.snapshot.telemetries!.size, 0);
    assert.deepEqual(removed.changed.removed, ['default/ratings-metrics']);
    // Copy on write: the earlier snapshot still has it.
    assert.equal(applied.snapshot.telemetries!.size, 1);

    input.remove('Telemetry', 'default', 'ratings-metrics');
    assert.equal(registry.recompute(), true);
    assert.equal(registry.current().telemetries!.size, 0);
  } finally {
    registry.close();
  }
});
