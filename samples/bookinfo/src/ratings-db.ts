// ratings-v2's database access: one PostgreSQL connection per request, opened, queried and closed — the
// TCP pattern the Istio task measures (its ratings v2 does the same with MongoDB).
import pg from 'pg';
import { serviceAddress } from './upstream.js';

/** Fail fast when the database is unreachable: the page shows "unavailable" instead of hanging. */
const CONNECT_TIMEOUT_MS = 3_000;

/**
 * Where the database is: POSTGRES_URL (an external PostgreSQL, e.g. postgres://user:pw@host:5432/db),
 * else the mesh's `postgres` service (POSTGRES_SERVICE_HOST/_PORT) as user postgres, database postgres.
 */
export function databaseConfig(env = process.env): pg.ClientConfig {
  const url = env['POSTGRES_URL'];
  if (url) return { connectionString: url, connectionTimeoutMillis: CONNECT_TIMEOUT_MS };
  const { host, port } = serviceAddress('postgres');
  return { host, port, user: env['POSTGRES_USER'] ?? 'postgres', database: env['POSTGRES_DB'] ?? 'postgres', connectionTimeoutMillis: CONNECT_TIMEOUT_MS };
}

/** The ratings table as reviewer → stars. */
export async function readRatings(): Promise<Record<string, number>> {
  const client = new pg.Client(databaseConfig());
  await client.connect();
  try {
    const res = await client.query<{ reviewer: string; rating: number }>('SELECT reviewer, rating FROM ratings ORDER BY review_id');
    return Object.fromEntries(res.rows.map((r) => [r.reviewer, Number(r.rating)]));
  } finally {
    await client.end();
  }
}
