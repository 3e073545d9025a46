// IP parsing, canonical spelling and CIDR membership used by the indexes and by policy matching.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { canonicalIp, cidrContains, parseCidr, parseIp } from '../../../src/dataplane/state/index.js';

test('canonicalIp gives one spelling per address', () => {
  assert.equal(canonicalIp('127.0.0.1'), '127.0.0.1');
  assert.equal(canonicalIp('::ffff:127.0.0.1'), '127.0.0.1');
  assert.equal(canonicalIp('0:0:0:0:0:0:0:1'), '::1');
  assert.equal(canonicalIp('FD00:0:0:1:0:0:0:1'), 'fd00:0:0:1::1');
  assert.equal(canonicalIp('fe80::1%eth0'), 'fe80::1');
  assert.equal(canonicalIp('2001:db8::'), '2001:db8::');
  assert.equal(canonicalIp('not-an-ip'), 'not-an-ip');
});

test('parseIp returns 4 or 16 bytes, undefined for non-addresses', () => {
  assert.deepEqual([...parseIp('10.1.2.3')!], [10, 1, 2, 3]);
  assert.deepEqual([...parseIp('::1.2.3.4')!], [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 2, 3, 4]);
  assert.equal(parseIp('10.1.2'), undefined);
  assert.equal(parseIp(''), undefined);
});

test('parseCidr and cidrContains handle IPv4, IPv6, host routes and odd prefix lengths', () => {
  const v4 = parseCidr('10.128.0.0/9')!;
  assert.equal(cidrContains(v4, parseIp('10.200.1.1')!), true);
  assert.equal(cidrContains(v4, parseIp('10.127.255.255')!), false);
  const v6 = parseCidr('fd00:ab::/33')!;
  assert.equal(cidrContains(v6, parseIp('fd00:ab:7fff::1')!), true);
  assert.equal(cidrContains(v6, parseIp('fd00:ab:8000::1')!), false);
  assert.equal(cidrContains(v6, parseIp('10.0.0.1')!), false);
  assert.deepEqual(parseCidr('192.168.1.7'), { bytes: Uint8Array.from([192, 168, 1, 7]), prefixLength: 32 });
  assert.equal(cidrContains(parseCidr('0.0.0.0/0')!, parseIp('203.0.113.9')!), true);
  assert.equal(cidrContains(parseCidr('::ffff:10.0.0.0/104')!, parseIp('10.9.9.9')!), true);
  assert.equal(parseCidr('10.0.0.0/33'), undefined);
  assert.equal(parseCidr('10.0.0.0/x'), undefined);
  assert.equal(parseCidr('nope/8'), undefined);
});
