// The handshake's plain counters appear at scrape time as Envoy's envoy_metadata_exchange_* counters.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Registry } from 'prom-client';
import { createMxStats, registerMxMetrics } from '../../../src/dataplane/mx/stats.js';

function samples(text: string): string[] {
  return text.split('\n').filter((line) => line.startsWith('envoy_metadata_exchange_'));
}

test('the five counters read the current numbers at every scrape', async () => {
  const registry = new Registry();
  const stats = createMxStats();
  registerMxMetrics(registry, stats);
  assert.deepEqual(samples(await registry.metrics()), [
    'envoy_metadata_exchange_alpn_protocol_found 0',
    'envoy_metadata_exchange_alpn_protocol_not_found 0',
    'envoy_metadata_exchange_initial_header_not_found 0',
    'envoy_metadata_exchange_header_not_found 0',
    'envoy_metadata_exchange_metadata_added 0',
  ]);
  Object.assign(stats, { alpnProtocolFound: 5, alpnProtocolNotFound: 2, initialHeaderNotFound: 1, headerNotFound: 3, metadataAdded: 5 });
  const text = await registry.metrics();
  assert.deepEqual(samples(text), [
    'envoy_metadata_exchange_alpn_protocol_found 5',
    'envoy_metadata_exchange_alpn_protocol_not_found 2',
    'envoy_metadata_exchange_initial_header_not_found 1',
    'envoy_metadata_exchange_header_not_found 3',
    'envoy_metadata_exchange_metadata_added 5',
  ]);
  assert.match(text, /^# TYPE envoy_metadata_exchange_alpn_protocol_found counter$/m);
  stats.metadataAdded++;
  assert.ok(samples(await registry.metrics()).includes('envoy_metadata_exchange_metadata_added 6'));
});

test('registering again in the same registry keeps the first binding instead of throwing', async () => {
  const registry = new Registry();
  const first = createMxStats();
  first.headerNotFound = 4;
  registerMxMetrics(registry, first);
  registerMxMetrics(registry, createMxStats());
  assert.ok(samples(await registry.metrics()).includes('envoy_metadata_exchange_header_not_found 4'));
});
