// Bookinfo reviews: two reviews of the book at /reviews/<id>. v1 shows no stars; v2 (black) and v3 (red)
// ask ratings for the stars — the version differences are env, as the original bakes them into its images.
import { serve } from './bookinfo-server.js';
import { forwardedHeaders, getJson } from './upstream.js';

const ENABLE_RATINGS = process.env['ENABLE_RATINGS'] === 'true';
const STAR_COLOR = process.env['STAR_COLOR'] || 'black';

const REVIEWS = [
  { reviewer: 'Reviewer1', text: 'A farce that never lets up: two pairs of twins, one city, and a day of mistaken identities that only gets funnier.' },
  { reviewer: 'Reviewer2', text: 'Great fun on stage, though it is lighter and less searching than the later comedies.' },
];

interface RatingsReply {
  ratings?: Record<string, number>;
}

export interface Review {
  reviewer: string;
  text: string;
  rating?: { stars: number; color: string } | { error: string };
}

async function reviews(id: number, headers: Record<string, string>): Promise<Record<string, unknown>> {
  let ratings: Record<string, number> | undefined;
  let ratingsError: string | undefined;
  if (ENABLE_RATINGS) {
    try {
      ratings = ((await getJson('ratings', `/ratings/${id}`, headers)) as RatingsReply).ratings ?? {};
    } catch (err) {
      process.stderr.write(`ratings: ${(err as Error).message}\n`);
      ratingsError = 'Ratings service is currently unavailable';
    }
  }
  const list: Review[] = REVIEWS.map((r) => {
    if (!ENABLE_RATINGS) return { ...r };
    if (ratingsError) return { ...r, rating: { error: ratingsError } };
    const stars = ratings?.[r.reviewer];
    return stars === undefined ? { ...r } : { ...r, rating: { stars, color: STAR_COLOR } };
  });
  return { id: String(id), podname: process.env['POD_NAME'] ?? '', clustername: 'local', reviews: list };
}

await serve('reviews', [{ path: /^\/reviews\/(\d+)$/, handler: async (m, req) => ({ status: 200, body: await reviews(Number(m[1]), forwardedHeaders(req)) }) }]);
