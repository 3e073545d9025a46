// What the source proxy sends on CONNECT arrives at the destination's handler exactly.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { hboneRequestHeaders, parseBaggage, parseForwardedFor } from '../../../src/dataplane/hbone/headers.js';
import { connectEcho, meshFixture, DST_ID, SRC_ID } from './mesh-fixture.js';
import { eachTransport } from '../../support/transports.js';

eachTransport('baggage, forwarded and traceparent reach the handler unchanged, with both identities', {}, async (transport) => {
  const f = await meshFixture({ transport });
  try {
    const headers = hboneRequestHeaders(
      {
        clusterId: 'Kubernetes',
        namespace: 'default',
        workloadName: 'productpage-v1',
        serviceName: 'productpage',
        serviceVersion: 'v1',
      },
      { ip: '127.0.0.42', port: 51234 },
    );
    const stream = await connectEcho(f, headers);
    stream.end();
    stream.resume();
    await once(stream, 'close');

    assert.equal(f.handled.length, 1);
    const request = f.handled[0]!;
    assert.equal(f.requests[0]!.headers, undefined, 'an open or finished tunnel does not keep the request headers');
    assert.equal(
      request.headers?.['baggage'],
      'k8s.cluster.name=Kubernetes,k8s.namespace.name=default,k8s.deployment.name=productpage-v1,' +
        'service.name=productpage,service.version=v1',
    );
    assert.equal(request.headers?.['forwarded'], 'for="127.0.0.42:51234"');
    assert.match(String(request.headers?.['traceparent']), /^00-[0-9a-f]{32}-[0-9a-f]{16}-00$/);
    assert.equal(request.headers?.['traceparent'], headers['traceparent']);
    assert.equal(request.headers?.[':method'], 'CONNECT');
    assert.deepEqual(
      {
        authority: request.authority,
        host: request.host,
        port: request.port,
        peerIdentity: request.peerIdentity,
        localIdentity: request.localIdentity,
        remoteAddress: request.remoteAddress,
      },
      {
        authority: `127.0.0.1:${f.echoPort}`,
        host: '127.0.0.1',
        port: f.echoPort,
        peerIdentity: SRC_ID,
        localIdentity: DST_ID,
        remoteAddress: '127.0.0.1',
      },
    );
    assert.deepEqual(parseBaggage(request.headers?.['baggage']), {
      clusterId: 'Kubernetes',
      namespace: 'default',
      workloadName: 'productpage-v1',
      workloadType: 'deployment',
      serviceName: 'productpage',
      serviceVersion: 'v1',
    });
    assert.deepEqual(parseForwardedFor(request.headers?.['forwarded'] as string), { ip: '127.0.0.42', port: 51234 });
  } finally {
    await f.close();
  }
});
