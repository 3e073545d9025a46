// The `postgres` service: PostgreSQL embedded with PGlite (compiled to WebAssembly, nothing to install),
// served over TCP on $POD_IP:5432 to several clients at once, with the `ratings` table seeded at start.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PGlite } from '@electric-sql/pglite';
import { PGLiteSocketServer } from '@electric-sql/pglite-socket';
import { startPostgresFront } from './postgres-front.js';
import { SEEDED_RATINGS } from './ratings-seed.js';

/** PostgreSQL's port; the Service and the readinessProbe use it too. */
const DEFAULT_PORT = 5432;
/**
 * Client connections served at once. PGlite runs one statement at a time and pglite-socket queues the
 * connections' statements (a transaction keeps its connection's turn), so more connections only wait
 * longer; 32 covers ratings' pools, psql and `pgbench -c 4` together with room to spare.
 */
const MAX_CONNECTIONS = 32;

const host = process.env['POD_IP'] || '127.0.0.1';
const port = Number(process.argv[2] ?? DEFAULT_PORT);
const started = Date.now();
// In memory: the sample's data is its seed, so every start is the same database.
const db = await PGlite.create();
await db.exec('CREATE TABLE ratings (review_id integer PRIMARY KEY, reviewer text NOT NULL, rating integer NOT NULL)');
for (const r of SEEDED_RATINGS) {
  await db.query('INSERT INTO ratings (review_id, reviewer, rating) VALUES ($1, $2, $3)', [r.reviewId, r.reviewer, r.rating]);
}
// pglite-socket multiplexes the connections over the one PGlite; it listens on a private Unix socket and
// the front on $POD_IP answers the encryption requests it does not (GSSENCRequest), so stock libpq
// clients (psql, pgbench) connect with their default sslmode/gssencmode.
const socketDir = mkdtempSync(join(tmpdir(), 'bookinfo-postgres-'));
const backendPath = join(socketDir, '.s.PGSQL');
const backend = new PGLiteSocketServer({ db, path: backendPath, maxConnections: MAX_CONNECTIONS });
await backend.start();
const front = await startPostgresFront({ host, port, backendPath, maxConnections: MAX_CONNECTIONS });
process.stdout.write(`postgres (PGlite) listening on ${host}:${port} (up to ${MAX_CONNECTIONS} connections), ratings seeded, ready in ${Date.now() - started} ms\n`);

async function stop(): Promise<void> {
  front.close();
  await backend.stop();
  await db.close();
  rmSync(socketDir, { recursive: true, force: true });
  process.exit(0);
}
process.once('SIGTERM', () => void stop());
process.once('SIGINT', () => void stop());
