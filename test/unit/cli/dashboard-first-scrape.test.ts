// `dashboard prometheus` says ready only once Prometheus has scraped every target the control plane's
// service discovery lists: not while one is still "unknown" (never scraped) or not yet discovered.
// Prometheus and the SD endpoint are played by one loopback HTTP server whose answers the test changes.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { waitForFirstScrape } from '../../../src/cli/dashboard.js';

interface Target {
  labels: Record<string, string>;
  health: 'up' | 'down' | 'unknown';
  lastError: string;
}

function fake(state: { sd: string[]; active: Target[]; targetsAsked: number }): Promise<{ server: Server; url: string }> {
  const server = createServer((req, res) => {
    res.setHeader('content-type', 'application/json');
    if (req.url === '/debug/prometheus_sd') return res.end(JSON.stringify([{ targets: state.sd, labels: { role: 'ztunnel' } }]));
    if (req.url === '/api/v1/targets?state=active') {
      state.targetsAsked++;
      return res.end(JSON.stringify({ status: 'success', data: { activeTargets: state.active } }));
    }
    res.statusCode = 404;
    res.end('{}');
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve({ server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}` })));
}

const target = (instance: string, health: Target['health']): Target => ({ labels: { instance, proxy: `p-${instance}` }, health, lastError: health === 'down' ? 'connection refused' : '' });

test('waits while a discovered target is unscraped or missing, then returns every target with its health', async () => {
  const state = { sd: ['127.7.0.1:15020', '127.7.0.2:15020'], active: [target('127.7.0.1:15020', 'unknown')], targetsAsked: 0 };
  const { server, url } = await fake(state);
  try {
    const done = waitForFirstScrape(url, `${url}/debug/prometheus_sd`, 30_000);
    let settled = false;
    void done.then(() => (settled = true));
    const askedAtLeast = async (n: number) => {
      for (let i = 0; i < 400 && state.targetsAsked < n; i++) await new Promise((r) => setTimeout(r, 25));
      assert.ok(state.targetsAsked >= n, `Prometheus was asked ${state.targetsAsked} times`);
    };
    await askedAtLeast(2);
    assert.equal(settled, false, 'one target never scraped, one not discovered');
    state.active = [target('127.7.0.1:15020', 'up'), target('127.7.0.2:15020', 'unknown')];
    await askedAtLeast(state.targetsAsked + 2);
    assert.equal(settled, false, 'the second target is discovered but not scraped');
    state.active = [target('127.7.0.1:15020', 'up'), target('127.7.0.2:15020', 'down')];
    assert.deepEqual(await done, state.active);
  } finally {
    server.close();
  }
});

test('returns undefined when the deadline passes before the first scrape', async () => {
  const state = { sd: ['127.7.0.1:15020'], active: [target('127.7.0.1:15020', 'unknown')], targetsAsked: 0 };
  const { server, url } = await fake(state);
  try {
    assert.equal(await waitForFirstScrape(url, `${url}/debug/prometheus_sd`, 1_000), undefined);
  } finally {
    server.close();
  }
});

test('an empty service discovery is not "every target scraped"', async () => {
  const state = { sd: [] as string[], active: [] as Target[], targetsAsked: 0 };
  const { server, url } = await fake(state);
  try {
    assert.equal(await waitForFirstScrape(url, `${url}/debug/prometheus_sd`, 1_000), undefined);
  } finally {
    server.close();
  }
});
