// The waypoint's own SPIFFE identity takes the trust domain from its config (--trust-domain, else
// L4MESH_TRUST_DOMAIN like the control plane, else cluster.local), so a mesh with another trust domain
// gets waypoint certificates in it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Logger } from '../../../src/logging/logger.js';
import { waypointConfig } from '../../../src/waypoint/config.js';
import { Waypoint } from '../../../src/waypoint/waypoint.js';

const POD_ENV = { POD_IP: '127.0.1.9', NODE_NAME: 'node-2', POD_NAME: 'waypoint-abc' };
const quiet = new Logger('test', 'error', () => {});

function identityOf(args: string[], env: NodeJS.ProcessEnv): [string, string] {
  const config = waypointConfig(['--namespace', 'bookinfo', ...args], env);
  assert.ok(config !== 'help');
  return [config.trustDomain, new Waypoint(config, quiet).identity];
}

test('--trust-domain names the trust domain of the waypoint identity', () => {
  assert.deepEqual(identityOf(['--trust-domain', 'example.org'], POD_ENV), ['example.org', 'spiffe://example.org/ns/bookinfo/sa/waypoint']);
});

test('L4MESH_TRUST_DOMAIN (the control plane\'s variable) sets it when the flag is absent; the flag wins', () => {
  const env = { ...POD_ENV, L4MESH_TRUST_DOMAIN: 'corp.example' };
  assert.deepEqual(identityOf(['--service-account', 'wp-sa'], env), ['corp.example', 'spiffe://corp.example/ns/bookinfo/sa/wp-sa']);
  assert.deepEqual(identityOf(['--trust-domain', 'example.org'], env), ['example.org', 'spiffe://example.org/ns/bookinfo/sa/waypoint']);
});

test('without either, the identity is in Istio\'s default trust domain cluster.local', () => {
  assert.deepEqual(identityOf([], POD_ENV), ['cluster.local', 'spiffe://cluster.local/ns/bookinfo/sa/waypoint']);
});
