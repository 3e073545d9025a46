// Reads a product page's reviews and stars back from its markup (the data-* attributes productpage writes),
// so the demo and the tests agree on what "a page with ratings" is.

export interface ReviewStars {
  reviewer: string;
  /** undefined when the review shows no stars (reviews v1, or ratings unavailable). */
  stars?: number;
  color?: string;
}

/** What productpage prints in place of the stars when reviews could not reach ratings. */
export const RATINGS_UNAVAILABLE = 'Ratings service is currently unavailable';

/** Every review on the page with its stars, in page order. */
export function reviewStars(html: string): ReviewStars[] {
  return [...html.matchAll(/<small>([^<]+)<\/small>\n(?:<span class="stars" data-stars="(\d)" data-color="(\w+)")?/g)].map((m) =>
    m[2] === undefined ? { reviewer: m[1]! } : { reviewer: m[1]!, stars: Number(m[2]), color: m[3]! },
  );
}

/** A page "has ratings" when it shows reviews and every one of them has stars. */
export function hasRatings(html: string): boolean {
  const reviews = reviewStars(html);
  return reviews.length > 0 && reviews.every((r) => r.stars !== undefined) && !html.includes(RATINGS_UNAVAILABLE);
}

/** "reviews from reviews-v3-…: Reviewer1 2/5 red, Reviewer2 3/5 red" for the demo's output. */
export function pageSummary(html: string): string {
  const pod = /Reviews served by: ([^<]+)</.exec(html)?.[1] ?? 'unknown pod';
  const stars = reviewStars(html).map((r) => (r.stars !== undefined ? `${r.reviewer} ${r.stars}/5 ${r.color}` : `${r.reviewer} no stars`));
  const unavailable = html.includes(RATINGS_UNAVAILABLE) ? ` (${RATINGS_UNAVAILABLE})` : '';
  return `reviews from ${pod.trim()}: ${stars.join(', ') || 'no reviews shown'}${unavailable}`;
}
