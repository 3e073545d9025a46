// Bookinfo deployed as the demo deploys it (a waypoint for `default`, routes reviews → v3 and ratings → v2,
// so every page's stars come from PostgreSQL through the waypoint) serves 50 product pages requested at
// once, each with the stars seeded in the database: the database serves many connections at once and
// ratings shares a pool of them, all carried by the waypoint.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { request } from 'node:http';
import { deployBookinfo } from '../../../samples/bookinfo/demo/deploy.js';
import { RATINGS_UNAVAILABLE, reviewStars } from '../../../samples/bookinfo/demo/page-ratings.js';
import { SEEDED_RATINGS } from '../../../samples/bookinfo/src/ratings-seed.js';
import { startBookinfoMesh } from '../../support/bookinfo-mesh.js';

const CONCURRENT_PAGES = 50;
/** productpage gives up on an upstream after 3 s; the client waits longer so a slow page is seen, not cut. */
const PAGE_TIMEOUT_MS = 30_000;
/** The waypoint loads the routes within seconds of their apply; generous for a loaded machine. */
const SETTLE_TIMEOUT_MS = 60_000;

/** One GET on its own connection; resolves with the status and body, or status 0 and the error. */
function getPage(host: string, port: number): Promise<{ status: number; body: string }> {
  return new Promise((resolve) => {
    const req = request({ host, port, path: '/productpage', agent: false, timeout: PAGE_TIMEOUT_MS }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      res.on('error', (err) => resolve({ status: 0, body: err.message }));
    });
    req.on('timeout', () => req.destroy(new Error(`no answer within ${PAGE_TIMEOUT_MS} ms`)));
    req.on('error', (err) => resolve({ status: 0, body: err.message }));
    req.end();
  });
}

/** "200 Reviewer1 2 red, Reviewer2 3 red" — or what the page said instead. */
function describe(page: { status: number; body: string }): string {
  if (page.status !== 200) return `${page.status} ${page.body.slice(0, 200)}`;
  const stars = reviewStars(page.body).map((r) => (r.stars === undefined ? `${r.reviewer} no stars` : `${r.reviewer} ${r.stars} ${r.color}`));
  const errors = [...page.body.matchAll(/<p class="error">([^<]*)<\/p>/g)].map((m) => m[1]);
  return `200 ${stars.join(', ')}${page.body.includes(RATINGS_UNAVAILABLE) ? ` (${RATINGS_UNAVAILABLE})` : ''}${errors.length ? ` (${errors.join(' ')})` : ''}`;
}

test('50 concurrent product pages through the waypoint all show the ratings seeded in PostgreSQL', { timeout: 600_000 }, async () => {
  const mesh = await startBookinfoMesh(deployBookinfo);
  try {
    const host = (await mesh.cli.podEnv('curl', 'PRODUCTPAGE_SERVICE_HOST')).trim();
    const port = Number(await mesh.cli.podEnv('curl', 'PRODUCTPAGE_SERVICE_PORT'));
    const expected = `200 ${SEEDED_RATINGS.map((r) => `${r.reviewer} ${r.rating} red`).join(', ')}`;
    // Pages one at a time until the waypoint routes every page to reviews v3 and ratings v2.
    const settle = Date.now() + SETTLE_TIMEOUT_MS;
    let last = '';
    while ((last = describe(await getPage(host, port))) !== expected && Date.now() < settle) await new Promise((r) => setTimeout(r, 500));
    assert.equal(last, expected);

    const started = Date.now();
    const pages = await Promise.all(Array.from({ length: CONCURRENT_PAGES }, () => getPage(host, port)));
    const elapsed = Date.now() - started;
    const tally: Record<string, number> = {};
    for (const p of pages) tally[describe(p)] = (tally[describe(p)] ?? 0) + 1;
    assert.deepEqual(tally, { [expected]: CONCURRENT_PAGES }, `${CONCURRENT_PAGES} pages in ${elapsed} ms`);
    for (const p of pages) assert.match(p.body, /Reviews served by: reviews-v3-/);
    process.stdout.write(`# ${CONCURRENT_PAGES}/${CONCURRENT_PAGES} pages with ratings in ${elapsed} ms\n`);
  } catch (err) {
    process.stdout.write(`# deploy output:\n${mesh.log.join('\n')}\n`);
    for (const deploy of ['productpage-v1', 'reviews-v3', 'ratings-v2', 'postgres-v1', 'waypoint']) {
      const logs = await mesh.cli.run(['logs', `deploy/${deploy}`]).catch(() => undefined);
      if (logs) process.stdout.write(`# ${deploy} logs:\n${(logs.stdout + logs.stderr).slice(-2000)}\n`);
    }
    throw err;
  } finally {
    await mesh.close();
  }
});
