// HBONE request headers: W3C baggage in ztunnel's key order, RFC 7239 forwarded, W3C traceparent.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  formatBaggage,
  formatForwarded,
  hboneRequestHeaders,
  newTraceparent,
  parseBaggage,
  parseForwardedFor,
} from '../../../src/dataplane/hbone/headers.js';

test('baggage lists the keys in ztunnel order and leaves out empty fields', () => {
  assert.equal(
    formatBaggage({
      zone: 'z1',
      region: 'r1',
      serviceVersion: 'v2',
      serviceName: 'ratings',
      workloadName: 'ratings-v2',
      namespace: 'bookinfo',
      clusterId: 'Kubernetes',
    }),
    'k8s.cluster.name=Kubernetes,k8s.namespace.name=bookinfo,k8s.deployment.name=ratings-v2,' +
      'service.name=ratings,service.version=v2,cloud.region=r1,cloud.availability_zone=z1',
  );
  assert.equal(formatBaggage({ namespace: 'ns', serviceName: '' }), 'k8s.namespace.name=ns');
  assert.equal(formatBaggage({}), '');
});

test('the workload key follows the owner kind', () => {
  assert.equal(formatBaggage({ workloadName: 'nightly', workloadType: 'cronjob' }), 'k8s.cronjob.name=nightly');
  assert.deepEqual(parseBaggage('k8s.pod.name=p1'), { workloadName: 'p1', workloadType: 'pod' });
});

test('values outside the baggage octet set are percent-encoded and decoded back', () => {
  const header = formatBaggage({ serviceName: 'a b,c;d"e%f', serviceVersion: 'ü' });
  assert.equal(header, 'service.name=a%20b%2Cc%3Bd%22e%25f,service.version=%C3%BC');
  assert.deepEqual(parseBaggage(header), { serviceName: 'a b,c;d"e%f', serviceVersion: 'ü' });
});

test('parsing joins several header lines, ignores properties, unknown keys and empty values', () => {
  assert.deepEqual(
    parseBaggage([
      'k8s.cluster.name=K1, k8s.namespace.name=NS1;prop=1',
      'foo=bar,service.name=,service.version=V1,nonsense',
    ]),
    { clusterId: 'K1', namespace: 'NS1', serviceVersion: 'V1' },
  );
  assert.deepEqual(parseBaggage(undefined), {});
});

test('forwarded quotes the node and brackets IPv6', () => {
  assert.equal(formatForwarded('10.0.0.7', 40001), 'for="10.0.0.7:40001"');
  assert.equal(formatForwarded('fd00::7', 40001), 'for="[fd00::7]:40001"');
  assert.deepEqual(parseForwardedFor('for="[fd00::7]:40001"'), { ip: 'fd00::7', port: 40001 });
  assert.deepEqual(parseForwardedFor('proto=https;For="10.0.0.7:1", for=1.1.1.1'), { ip: '10.0.0.7', port: 1 });
  assert.deepEqual(parseForwardedFor('for=192.0.2.60'), { ip: '192.0.2.60', port: 0 });
  assert.equal(parseForwardedFor('for=_hidden'), undefined);
  assert.equal(parseForwardedFor(undefined), undefined);
});

test('traceparent is version 00 with fresh random ids', () => {
  const a = newTraceparent();
  const b = newTraceparent();
  assert.match(a, /^00-[0-9a-f]{32}-[0-9a-f]{16}-00$/);
  assert.notEqual(a, b);
});

test('a traced connection sends the traceparent it was given; every other one starts its own, not sampled', () => {
  const traced = `00-${'ab'.repeat(16)}-${'cd'.repeat(8)}-01`;
  assert.deepEqual(hboneRequestHeaders('k8s.namespace.name=default', { ip: '127.1.0.1', port: 40000 }, traced), {
    baggage: 'k8s.namespace.name=default',
    forwarded: 'for="127.1.0.1:40000"',
    traceparent: traced,
  });
  const own = hboneRequestHeaders('k8s.namespace.name=default', { ip: '127.1.0.1', port: 40000 })['traceparent']!;
  assert.match(own, /^00-[0-9a-f]{32}-[0-9a-f]{16}-00$/);
});
