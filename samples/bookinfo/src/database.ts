// The `postgres` service: PostgreSQL embedded with PGlite (compiled to WebAssembly, nothing to install),
// served over TCP on $POD_IP:5432 by pglite-socket, with the `ratings` table seeded at start.
import { PGlite } from '@electric-sql/pglite';
import { PGLiteSocketServer } from '@electric-sql/pglite-socket';
import { SEEDED_RATINGS } from './ratings-seed.js';

/** PostgreSQL's port; the Service and the readinessProbe use it too. */
const DEFAULT_PORT = 5432;

const host = process.env['POD_IP'] || '127.0.0.1';
const port = Number(process.argv[2] ?? DEFAULT_PORT);
const started = Date.now();
// In memory: the sample's data is its seed, so every start is the same database.
const db = await PGlite.create();
await db.exec('CREATE TABLE ratings (review_id integer PRIMARY KEY, reviewer text NOT NULL, rating integer NOT NULL)');
for (const r of SEEDED_RATINGS) {
  await db.query('INSERT INTO ratings (review_id, reviewer, rating) VALUES ($1, $2, $3)', [r.reviewId, r.reviewer, r.rating]);
}
const server = new PGLiteSocketServer({ db, host, port });
await server.start();
process.stdout.write(`postgres (PGlite) listening on ${host}:${port}, ratings seeded, ready in ${Date.now() - started} ms\n`);

async function stop(): Promise<void> {
  await server.stop();
  await db.close();
  process.exit(0);
}
process.once('SIGTERM', () => void stop());
process.once('SIGINT', () => void stop());
