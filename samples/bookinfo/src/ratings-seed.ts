// The two sets of ratings Bookinfo can show: ratings v1's fixed ones and the rows seeded into PostgreSQL.
// They differ on purpose, so a page (or a test) can tell which path the stars took.

/** What ratings v1 always answers (Istio's values). */
export const FIXED_RATINGS: Readonly<Record<string, number>> = { Reviewer1: 5, Reviewer2: 4 };

/** The `ratings` table database.ts creates at start; ratings v2 reads it. */
export const SEEDED_RATINGS: ReadonlyArray<{ reviewId: number; reviewer: string; rating: number }> = [
  { reviewId: 1, reviewer: 'Reviewer1', rating: 2 },
  { reviewId: 2, reviewer: 'Reviewer2', rating: 3 },
];
