// kubectl ages and column layout, istioctl certificate rows, pod naming and pod IP allocation.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { formatAge, formatTable } from '../../../src/cli/cli-context.js';
import { certificatesTable, policiesTable } from '../../../src/cli/ztunnel-config-tables.js';
import { PodIpAllocator } from '../../../src/localrun/pod-ips.js';
import { podName, templateHash } from '../../../src/localrun/pod-naming.js';

test('ages read like kubectl', () => {
  const now = Date.parse('2024-01-10T00:00:00Z');
  const ago = (s: number) => formatAge(new Date(now - s * 1000).toISOString(), now);
  assert.deepEqual([ago(5), ago(119), ago(192), ago(600), ago(3 * 3600 + 300), ago(10 * 3600), ago(2 * 86400), ago(3 * 86400 + 7200), ago(30 * 86400)], ['5s', '119s', '3m12s', '10m', '3h5m', '10h', '2d', '3d2h', '30d']);
});

test('tables pad columns with three spaces and no trailing blanks', () => {
  assert.equal(formatTable(['NAME', 'AGE'], [['echo', '5s'], ['a', '10m']]), 'NAME   AGE\necho   5s\na      10m\n');
});

test('certificates: a Leaf and a Root row per identity, hex serial, RFC 3339 times', () => {
  const entry = (serial: string) => ({ pem: '', serialNumber: serial, validFrom: '2024-01-01T00:00:00.000Z', expirationTime: '2024-01-02T00:00:00.000Z' });
  const text = certificatesTable([{ identity: 'spiffe://cluster.local/ns/default/sa/echo', state: 'Available', certChain: [entry('0aBC')], rootCerts: [entry('ff01')] }], Date.parse('2024-01-01T12:00:00Z'));
  assert.equal(
    text,
    'CERTIFICATE NAME                          TYPE STATUS    VALID CERT SERIAL NUMBER NOT AFTER            NOT BEFORE\n' +
      'spiffe://cluster.local/ns/default/sa/echo Leaf Available true       0abc          2024-01-02T00:00:00Z 2024-01-01T00:00:00Z\n' +
      'spiffe://cluster.local/ns/default/sa/echo Root Available true       ff01          2024-01-02T00:00:00Z 2024-01-01T00:00:00Z\n',
  );
});

test('policies: istioctl action and scope spellings', () => {
  assert.equal(policiesTable({ policies: [{ namespace: 'default', name: 'allow-nothing', action: 'ALLOW', scope: 'NAMESPACE' }] }), 'NAMESPACE POLICY NAME   ACTION SCOPE\ndefault   allow-nothing Allow  Namespace\n');
});

test('pod names: <deployment>-<10-char template hash>-<5-char suffix>; the hash follows the template only', () => {
  const t = { metadata: { labels: { app: 'a', v: '1' } }, spec: { containers: [{ name: 'c', command: ['x'] }] } };
  const same = { spec: { containers: [{ command: ['x'], name: 'c' }] }, metadata: { labels: { v: '1', app: 'a' } } };
  assert.equal(templateHash(t, '/d'), templateHash(same, '/d'));
  assert.notEqual(templateHash(t, '/d'), templateHash({ ...t, spec: { containers: [{ name: 'c', command: ['y'] }] } }, '/d'));
  assert.match(podName('ratings-v2', templateHash(t)), /^ratings-v2-[bcdfghjklmnpqrstvwxz2456789]{10}-[bcdfghjklmnpqrstvwxz2456789]{5}$/);
});

test('pod IPs: lowest free first, stable across reopen, reused after release', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'l4mesh-ips-'));
  try {
    const a = new PodIpAllocator(dir, [['127.9.1.1', '127.9.1.3']]);
    assert.equal(a.allocate('default/p1'), '127.9.1.1');
    assert.equal(a.allocate('default/p2'), '127.9.1.2');
    const b = new PodIpAllocator(dir, [['127.9.1.1', '127.9.1.3']]);
    assert.equal(b.allocate('default/p2'), '127.9.1.2');
    b.release('default/p1');
    assert.equal(b.allocate('default/p3'), '127.9.1.1');
    assert.equal(b.allocate('default/p4'), '127.9.1.3');
    assert.throws(() => b.allocate('default/p5'), { code: 'L4MESH_ERR_CONFIG' });
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
