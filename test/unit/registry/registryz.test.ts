import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Registry } from '../../../src/controlplane/registry/registry.js';
import type { RegistryInput } from '../../../src/controlplane/registry/options.js';
import type { ResourceStore } from '../../../src/controlplane/store/index.js';
import { FakeInput, pod, service } from './fake-input.js';

// The real store must fit the registry's input interface (checked by the compiler).
const storeFitsInput: ResourceStore extends RegistryInput ? true : false = true;

test('registryz lists services with their endpoints, VIP allocations and is JSON-able', () => {
  assert.equal(storeFitsInput, true);
  const input = new FakeInput([
    service('web', 'default', { selector: { app: 'web' }, ports: [{ port: 80, targetPort: 8080 }] }),
    pod('web-1', 'default', { ip: '127.10.0.1', labels: { app: 'web' }, node: 'n1' }),
  ]);
  const reg = new Registry(input);
  const dump = JSON.parse(JSON.stringify(reg.registryz())) as Record<string, unknown>;
  assert.deepStrictEqual(dump['services'], [
    {
      name: 'web',
      namespace: 'default',
      hostname: 'web.default.svc.cluster.local',
      addresses: ['127.2.0.1'],
      ports: [{ servicePort: 80, targetPort: 8080 }],
      endpoints: [
        { uid: 'Kubernetes//Pod/default/web-1', name: 'web-1', namespace: 'default', addresses: ['127.10.0.1'], node: 'n1', status: 'HEALTHY', ports: [{ servicePort: 80, targetPort: 8080 }] },
      ],
    },
  ]);
  assert.deepStrictEqual(dump['vips'], { 'default/web.default.svc.cluster.local': '127.2.0.1' });
  assert.deepStrictEqual((dump['workloads'] as Array<{ uid: string }>).map((w) => w.uid), ['Kubernetes//Pod/default/web-1']);
  assert.deepStrictEqual([dump['policies'], dump['policySources'], dump['warnings']], [[], [], []]);
  reg.close();
});
