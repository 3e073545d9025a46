import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Registry } from '../../../src/controlplane/registry/registry.js';
import { VipAllocator } from '../../../src/controlplane/registry/vip-allocator.js';
import { L4meshError } from '../../../src/errors/index.js';
import { FakeInput, service } from './fake-input.js';

const vipOf = (reg: Registry, name: string) => reg.current().services.get(`default/${name}.default.svc.cluster.local`)?.addresses;

test('VIPs are stable across recomputes and persisted for a new Registry on the same state dir', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'l4mesh-vips-'));
  try {
    const input = new FakeInput([service('b', 'default', { ports: [{ port: 80 }] }), service('a', 'default', { ports: [{ port: 80 }] })]);
    const reg1 = new Registry(input, { stateDir: dir });
    assert.deepStrictEqual([vipOf(reg1, 'a'), vipOf(reg1, 'b')], [['127.2.0.1'], ['127.2.0.2']]);
    // A new service sorting before the others must not shift their addresses.
    input.put(service('0first', 'default', { ports: [{ port: 80 }] }));
    reg1.recompute();
    assert.deepStrictEqual([vipOf(reg1, 'a'), vipOf(reg1, 'b'), vipOf(reg1, '0first')], [['127.2.0.1'], ['127.2.0.2'], ['127.2.0.3']]);
    reg1.close();
    const persisted = JSON.parse(await readFile(join(dir, 'vips.json'), 'utf8'));
    assert.deepStrictEqual(persisted, {
      range: '127.2.0.0/16',
      allocations: {
        'default/0first.default.svc.cluster.local': '127.2.0.3',
        'default/a.default.svc.cluster.local': '127.2.0.1',
        'default/b.default.svc.cluster.local': '127.2.0.2',
      },
    });
    // Restart: the same services in a different order keep their VIPs.
    const input2 = new FakeInput([service('0first', 'default', { ports: [{ port: 80 }] }), service('b', 'default', { ports: [{ port: 80 }] }), service('a', 'default', { ports: [{ port: 80 }] })]);
    const reg2 = new Registry(input2, { stateDir: dir });
    assert.deepStrictEqual([vipOf(reg2, 'a'), vipOf(reg2, 'b'), vipOf(reg2, '0first')], [['127.2.0.1'], ['127.2.0.2'], ['127.2.0.3']]);
    reg2.close();
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('a deleted service releases its VIP and the next new service reuses it; explicit clusterIPs are never allocated', () => {
  const input = new FakeInput([
    service('a', 'default', { ports: [{ port: 80 }] }),
    service('b', 'default', { ports: [{ port: 80 }] }),
    service('fixed', 'default', { clusterIP: '127.2.0.3', ports: [{ port: 80 }] }),
  ]);
  const reg = new Registry(input, { vipRange: '127.2.0.0/24' });
  assert.deepStrictEqual(vipOf(reg, 'b'), ['127.2.0.2']);
  input.remove('Service', 'default', 'a');
  reg.recompute();
  assert.equal(vipOf(reg, 'a'), undefined);
  input.put(service('c', 'default', { ports: [{ port: 80 }] }));
  input.put(service('d', 'default', { ports: [{ port: 80 }] }));
  reg.recompute();
  assert.deepStrictEqual([vipOf(reg, 'b'), vipOf(reg, 'c'), vipOf(reg, 'd'), vipOf(reg, 'fixed')], [['127.2.0.2'], ['127.2.0.1'], ['127.2.0.4'], ['127.2.0.3']]);
  reg.close();
});

test('an exhausted range leaves the service without VIP and says so; a bad range is a config error', () => {
  const alloc = new VipAllocator('10.0.0.0/30');
  assert.deepStrictEqual([...alloc.sync(['x', 'y', 'z'])], [['x', '10.0.0.1'], ['y', '10.0.0.2']]);
  assert.deepStrictEqual(alloc.exhausted, ['z']);
  assert.throws(() => new VipAllocator('10.0.0.0/33'), (e: unknown) => e instanceof L4meshError && e.code === 'L4MESH_ERR_CONFIG');
});
