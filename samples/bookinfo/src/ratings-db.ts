// ratings-v2's database access: a small pool of PostgreSQL connections shared by all requests. Under light
// traffic a connection opens per request and closes once idle (the TCP pattern the Istio task measures,
// its ratings v2 does the same with MongoDB); a burst of requests shares at most POOL_SIZE connections.
import pg from 'pg';
import { serviceAddress } from './upstream.js';

/** Fail fast when the database is unreachable (or the pool stays busy): the page shows "unavailable" instead of hanging. */
const CONNECT_TIMEOUT_MS = 3_000;
/** The database runs one statement at a time, so a few connections keep it busy; more would only queue inside it. */
const POOL_SIZE = 4;
/** Closes a connection after a second without work, so light traffic still opens and closes connections. */
const IDLE_TIMEOUT_MS = 1_000;

/**
 * Where the database is: POSTGRES_URL (an external PostgreSQL, e.g. postgres://user:pw@host:5432/db),
 * else the mesh's `postgres` service (POSTGRES_SERVICE_HOST/_PORT) as user postgres, database postgres.
 */
export function databaseConfig(env = process.env): pg.PoolConfig {
  const common = { connectionTimeoutMillis: CONNECT_TIMEOUT_MS, max: POOL_SIZE, idleTimeoutMillis: IDLE_TIMEOUT_MS };
  const url = env['POSTGRES_URL'];
  if (url) return { connectionString: url, ...common };
  const { host, port } = serviceAddress('postgres');
  return { host, port, user: env['POSTGRES_USER'] ?? 'postgres', database: env['POSTGRES_DB'] ?? 'postgres', ...common };
}

let pool: pg.Pool | undefined;

function sharedPool(): pg.Pool {
  if (!pool) {
    pool = new pg.Pool(databaseConfig());
    // An idle connection the database closed (a restart, say) is dropped from the pool; the next query opens another.
    pool.on('error', (err) => process.stderr.write(`ratings: idle database connection: ${err.message}\n`));
  }
  return pool;
}

/** The ratings table as reviewer → stars. */
export async function readRatings(): Promise<Record<string, number>> {
  // No parameters: the query goes as one simple-protocol message, which the database runs in one turn.
  const res = await sharedPool().query<{ reviewer: string; rating: number }>('SELECT reviewer, rating FROM ratings ORDER BY review_id');
  return Object.fromEntries(res.rows.map((r) => [r.reviewer, Number(r.rating)]));
}
