// Bookinfo productpage: /productpage renders the book with its details (from details) and its reviews
// (from reviews, with stars when the reviews version asks ratings); /api/v1/products for machines.
import type { IncomingMessage } from 'node:http';
import { serve } from './bookinfo-server.js';
import { forwardedHeaders, getJson } from './upstream.js';

const PRODUCT = {
  id: 0,
  title: 'The Comedy of Errors',
  summary:
    'Two sets of identical twins, separated as infants, end up in the same city on the same day. Servants are beaten, a wife locks out her own husband, a merchant is arrested for a chain he never received — until everyone meets in one place and the muddle untangles. Shakespeare’s shortest comedy, built almost entirely on farce.',
};

const MAX_STARS = 5;

interface Review {
  reviewer: string;
  text: string;
  rating?: { stars?: number; color?: string; error?: string };
}

function escape(s: unknown): string {
  return String(s).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

/** Filled and empty stars; data-* attributes let scripts and tests read the rating without parsing glyphs. */
export function starsHtml(stars: number, color: string): string {
  const n = Math.max(0, Math.min(MAX_STARS, Math.round(stars)));
  return `<span class="stars" data-stars="${n}" data-color="${escape(color)}" style="color: ${escape(color)}">${'★'.repeat(n)}${'☆'.repeat(MAX_STARS - n)}</span>`;
}

function detailsHtml(details: Record<string, unknown> | undefined): string {
  if (!details) return '<p class="error">Sorry, product details are currently unavailable for this book.</p>';
  const rows = ['type', 'pages', 'publisher', 'language', 'ISBN-10', 'ISBN-13'].map((k) => `<tr><th>${escape(k)}</th><td>${escape(details[k])}</td></tr>`);
  return `<h3>Book Details</h3>\n<table class="details">\n${rows.join('\n')}\n</table>`;
}

function reviewsHtml(reviews: { podname?: string; reviews?: Review[] } | undefined): string {
  if (!reviews) return '<p class="error">Sorry, product reviews are currently unavailable for this book.</p>';
  const items = (reviews.reviews ?? []).map((r) => {
    let rating = '';
    if (r.rating?.error) rating = `<p class="rating-error">${escape(r.rating.error)}</p>`;
    else if (r.rating?.stars !== undefined) rating = starsHtml(r.rating.stars, r.rating.color ?? 'black');
    return `<blockquote class="review">\n<p>${escape(r.text)}</p>\n<small>${escape(r.reviewer)}</small>\n${rating}\n</blockquote>`;
  });
  return `<h3>Book Reviews</h3>\n${items.join('\n')}\n<p class="served-by">Reviews served by: ${escape(reviews.podname ?? 'unknown')}</p>`;
}

async function fetchOrUndefined<T>(service: string, path: string, req: IncomingMessage): Promise<T | undefined> {
  try {
    return (await getJson(service, path, forwardedHeaders(req))) as T;
  } catch (err) {
    process.stderr.write(`${service}: ${(err as Error).message}\n`);
    return undefined;
  }
}

async function productPage(req: IncomingMessage): Promise<string> {
  const [details, reviews] = await Promise.all([
    fetchOrUndefined<Record<string, unknown>>('details', `/details/${PRODUCT.id}`, req),
    fetchOrUndefined<{ podname?: string; reviews?: Review[] }>('reviews', `/reviews/${PRODUCT.id}`, req),
  ]);
  return `<!DOCTYPE html>
<html lang="en">
<head><meta charset="utf-8"><title>Simple Bookstore App</title>
<style>body{font-family:sans-serif;max-width:60em;margin:2em auto}th{text-align:left;padding-right:1em}blockquote{border-left:3px solid #ccc;padding-left:1em}.stars{font-size:1.3em}</style>
</head>
<body>
<h1>${escape(PRODUCT.title)}</h1>
<p class="summary">${escape(PRODUCT.summary)}</p>
${detailsHtml(details)}
${reviewsHtml(reviews)}
</body>
</html>
`;
}

function index(): string {
  return `<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>Simple Bookstore App</title></head>
<body><h1>Simple Bookstore App</h1><p>The <a href="/productpage">product page</a> shows one book, its details and its reviews, gathered from the details, reviews and ratings services through the mesh.</p></body></html>
`;
}

await serve('productpage', [
  { path: /^\/$/, handler: () => ({ status: 200, body: index() }) },
  { path: /^\/productpage$/, handler: async (_m, req) => ({ status: 200, body: await productPage(req) }) },
  { path: /^\/api\/v1\/products$/, handler: () => ({ status: 200, body: [{ id: PRODUCT.id, title: PRODUCT.title, descriptionHtml: PRODUCT.summary }] }) },
  { path: /^\/api\/v1\/products\/(\d+)\/reviews$/, handler: async (m, req) => ({ status: 200, body: (await fetchOrUndefined('reviews', `/reviews/${m[1]}`, req)) ?? { error: 'reviews unavailable' } }) },
]);
