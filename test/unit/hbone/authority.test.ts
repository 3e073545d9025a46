// The :authority of an HBONE CONNECT must be a literal ip:port.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { formatHboneAuthority, parseHboneAuthority } from '../../../src/dataplane/hbone/authority.js';

test('IPv4 and bracketed IPv6 authorities parse to host and port', () => {
  assert.deepEqual(parseHboneAuthority('10.1.2.3:9080'), { host: '10.1.2.3', port: 9080 });
  assert.deepEqual(parseHboneAuthority('[fd00::1]:15008'), { host: 'fd00::1', port: 15008 });
  assert.deepEqual(parseHboneAuthority('127.0.0.1:65535'), { host: '127.0.0.1', port: 65535 });
});

test('host names, missing or out-of-range ports and unbracketed IPv6 are refused', () => {
  for (const bad of [
    undefined,
    '',
    'ratings:9080',
    '10.1.2.3',
    '10.1.2.3:',
    '10.1.2.3:0',
    '10.1.2.3:65536',
    '10.1.2.3:+80',
    '10.1.2.3:80x',
    'fd00::1:80',
    '[fd00::1]80',
    '[10.1.2.3]:80',
    '[fd00::1:80',
  ]) {
    assert.equal(parseHboneAuthority(bad), undefined, String(bad));
  }
});

test('formatting brackets IPv6 only', () => {
  assert.equal(formatHboneAuthority('10.1.2.3', 80), '10.1.2.3:80');
  assert.equal(formatHboneAuthority('fd00::1', 80), '[fd00::1]:80');
});
