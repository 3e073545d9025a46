// Stock libpq clients (Debian postgresql-client) with their default settings reach the sample database
// through the mesh from the curl pod: sslmode=prefer sends an SSLRequest first, which the database answers
// 'N'; psql returns one row; pgbench -c 4 -t 50 completes 200 of 200 transactions.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { packageRoot } from '../../../src/config/paths.js';
import { PODS_READY_TIMEOUT_MS } from '../../../samples/bookinfo/demo/deploy.js';
import type { MeshCli } from '../../../samples/bookinfo/demo/mesh-cli.js';
import { startBookinfoMesh } from '../../support/bookinfo-mesh.js';

/** A client that waits on an unanswered SSLRequest waits forever: fail well before the test's own timeout. */
const CLIENT_TIMEOUT_MS = 120_000;
const hasClients = spawnSync('sh', ['-c', 'command -v psql && command -v pgbench'], { stdio: 'ignore' }).status === 0;

async function deployDatabase(cli: MeshCli, say: (line: string) => void): Promise<void> {
  for (const file of ['curl/curl.yaml', 'bookinfo/platform/local/bookinfo-db.yaml']) say(await cli.must(['apply', '-f', join(packageRoot(), 'samples', file)]));
  await cli.waitForPods(['curl', 'postgres-v1'], PODS_READY_TIMEOUT_MS, say);
}

test('stock psql and pgbench with default SSL settings work through the mesh', { skip: hasClients ? false : 'psql/pgbench not installed (npm test installs postgresql-client)', timeout: 600_000 }, async () => {
  const mesh = await startBookinfoMesh(deployDatabase);
  try {
    const psql = await mesh.exec('curl', `psql -h "$POSTGRES_SERVICE_HOST" -p "$POSTGRES_SERVICE_PORT" -U postgres -c 'select 1'`, CLIENT_TIMEOUT_MS);
    assert.equal(psql.timedOut, false, `psql did not finish within ${CLIENT_TIMEOUT_MS} ms: ${psql.stderr}`);
    assert.equal(psql.code, 0, psql.stderr);
    assert.equal(psql.stdout, ' ?column? \n----------\n        1\n(1 row)\n\n');

    // pgbench -i without COPY: server-side data generation (G) instead of client-side COPY FROM STDIN (g).
    const init = await mesh.exec('curl', 'pgbench -h "$POSTGRES_SERVICE_HOST" -p "$POSTGRES_SERVICE_PORT" -U postgres -i -I dtGvp postgres', CLIENT_TIMEOUT_MS);
    assert.equal(init.timedOut, false, `pgbench -i did not finish: ${init.stderr}`);
    assert.equal(init.code, 0, init.stderr);
    assert.match(init.stderr, /^done in [\d.]+ s \(drop tables [\d.]+ s, create tables [\d.]+ s, server-side generate [\d.]+ s, vacuum [\d.]+ s, primary keys [\d.]+ s\)\.$/m);

    const bench = await mesh.exec('curl', 'pgbench -h "$POSTGRES_SERVICE_HOST" -p "$POSTGRES_SERVICE_PORT" -U postgres -c 4 -t 50 postgres', CLIENT_TIMEOUT_MS);
    assert.equal(bench.timedOut, false, `pgbench did not finish: ${bench.stderr}`);
    assert.equal(bench.code, 0, bench.stderr);
    assert.match(bench.stdout, /^number of clients: 4$/m);
    assert.match(bench.stdout, /^number of transactions actually processed: 200\/200$/m);
    assert.match(bench.stdout, /^number of failed transactions: 0 \(0\.000%\)$/m);
    process.stdout.write(`# ${/^tps = .*$/m.exec(bench.stdout)?.[0] ?? ''}\n`);
  } finally {
    await mesh.close();
  }
});
