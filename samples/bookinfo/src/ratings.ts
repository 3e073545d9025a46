// Bookinfo ratings at /ratings/<id>: v1 answers fixed ratings; with DB_TYPE=postgres (ratings-v2) it reads
// them from PostgreSQL on every request, through a small pool of connections (ratings-db.ts).
import { serve } from './bookinfo-server.js';
import { readRatings } from './ratings-db.js';
import { FIXED_RATINGS } from './ratings-seed.js';

const DB_TYPE = process.env['DB_TYPE'] ?? '';
if (DB_TYPE !== '' && DB_TYPE !== 'postgres') {
  process.stderr.write(`ratings: DB_TYPE=${DB_TYPE} is not supported; use DB_TYPE=postgres or leave it unset for fixed ratings\n`);
  process.exit(1);
}

async function ratings(id: number): Promise<{ status: number; body: unknown }> {
  if (DB_TYPE !== 'postgres') return { status: 200, body: { id, ratings: FIXED_RATINGS } };
  try {
    return { status: 200, body: { id, ratings: await readRatings() } };
  } catch (err) {
    process.stderr.write(`ratings: database: ${(err as Error).message}\n`);
    return { status: 500, body: { error: 'could not connect to ratings database' } };
  }
}

await serve('ratings', [{ path: /^\/ratings\/(\d+)$/, handler: (m) => ratings(Number(m[1])) }]);
