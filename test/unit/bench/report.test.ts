// The benchmark's targets: each evaluated against the best TLS peer or direct TCP, exact PASS/MISS lines.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { evaluate, formatTable, type ScenarioResult } from '../../../bench/report.js';

const tp = (gbps: number) => ({ gbps, bytes: 0 });
const rate = (perSecond: number) => ({ perSecond, completed: 0, errors: 0 });
const lat = (p50us: number, p99us = 0) => ({ requests: 0, perSecond: 1000, p50us, p99us, p999us: 0 });

const results: ScenarioResult[] = [
  { name: 'direct', connRate: { c8: rate(1300) }, latency: { fixed1000: lat(100, 700) } },
  {
    name: 'ambient',
    throughput: { up1: tp(2.5), down1: tp(3.2) },
    connRate: { c8: rate(700) },
    latency: { fixed1000: lat(450, 900) },
    idle: { connections: 10_000, rssBeforeKiB: 0, rssAfterKiB: 0, perConnectionKiB: 15.1, errors: 0 },
    scrape: { unscrapedGbps: 2.34, scrapedGbps: 2.26, standInScrapedGbps: 2.28, ratio: 0.965, ratioToStandIn: 2.26 / 2.28, scrapes: 480, failures: 0 },
  },
  { name: 'sidecar', skipped: 'not measured: sidecar not available yet' },
  { name: 'stunnel', throughput: { up1: tp(3.0), down1: tp(3.1) }, connRate: { c8: rate(400) }, latency: { fixed1000: lat(400) } },
  { name: 'haproxy', throughput: { up1: tp(2.8), down1: tp(2.9) }, connRate: { c8: rate(500) }, latency: { fixed1000: lat(380) } },
];

test('every target of an l4mesh scenario is judged against the best peer or direct, with the values shown', () => {
  const lines = evaluate(results).map((t) => `${t.pass === undefined ? 'n/a' : t.pass ? 'PASS' : 'MISS'} ${t.scenario}: ${t.target} — ${t.value}`);
  assert.deepEqual(lines, [
    'MISS ambient: 1-conn throughput → ≥ 1.0× best TLS peer — 2.50 vs 3.00 Gbit/s (0.83×)',
    'PASS ambient: 1-conn throughput ← ≥ 1.0× best TLS peer — 3.20 vs 3.10 Gbit/s (1.03×)',
    'n/a ambient: proxy CPU per GB (1 conn →) ≤ 1.0× best TLS peer — not measured',
    'n/a ambient: proxy CPU per GB (1 conn ←) ≤ 1.0× best TLS peer — not measured',
    'n/a ambient: proxy CPU per GB (8 conn →) ≤ 1.0× best TLS peer — not measured',
    'n/a ambient: proxy CPU per GB (8 conn ←) ≤ 1.0× best TLS peer — not measured',
    'n/a ambient: proxy CPU per new connection c8 ≤ 0.5× best TLS peer — not measured',
    'MISS ambient: new conn/s c8 ≥ 10× best TLS peer — 700 vs 500/s (1.40×)',
    'PASS ambient: new conn/s c8 ≥ 0.5× direct — 700 vs 1300/s (0.54×)',
    'n/a ambient: proxy CPU per new connection c64 ≤ 0.5× best TLS peer — not measured',
    'n/a ambient: new conn/s c64 ≥ 10× best TLS peer — not measured',
    'n/a ambient: new conn/s c64 ≥ 0.5× direct — not measured',
    'MISS ambient: added p50 @1,000 req/s ≤ best peer added p50 — +350 vs +280 µs',
    'PASS ambient: p99 @1,000 req/s ≤ 1 ms — 900 µs',
    'PASS ambient: p99 @1,000 req/s ≤ 1.5× direct p99 — 900 vs 700 µs (1.29×)',
    'PASS ambient: RSS per idle proxied connection ≤ 16 KiB — 15.1 KiB',
    'PASS ambient: throughput under 10 scrapes/s ≥ 0.97× with the stand-in scraped — 0.991× (2.26 vs 2.28 Gbit/s; 0.965× the unscraped 2.34)',
  ]);
});

test('the table has a ratio to direct and to the best peer per l4mesh scenario, and names skipped scenarios', () => {
  const table = formatTable(results, evaluate(results));
  const lines = table.split('\n');
  assert.equal(lines[0], '| figure | direct | ambient | ambient ÷ direct | ambient ÷ best peer | stunnel | haproxy |');
  assert.equal(lines.find((l) => l.startsWith('| throughput 1 conn → ')), '| throughput 1 conn → (Gbit/s) | – | 2.50 | – | 0.83× | 3.00 | 2.80 |');
  assert.equal(lines.find((l) => l.startsWith('| new conn/s, concurrency 8 ')), '| new conn/s, concurrency 8 | 1300 | 700 | 0.54× | 1.40× | 400 | 500 |');
  assert.ok(lines.includes('sidecar: not measured: sidecar not available yet'));
  assert.ok(lines.includes('PASS  ambient: RSS per idle proxied connection ≤ 16 KiB — 15.1 KiB'));
  assert.equal(lines.find((l) => l.startsWith('| throughput scraped 10/s ÷ stand-in')), '| throughput scraped 10/s ÷ stand-in scraped 10/s | – | 0.99 | – | – | – | – |');
});
