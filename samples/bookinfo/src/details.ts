// Bookinfo details v1: the book's bibliographic facts as JSON at /details/<id>.
import { serve } from './bookinfo-server.js';

/** One book in the store, as in Istio's sample; the id in the path is echoed back. */
export function bookDetails(id: number): Record<string, unknown> {
  return {
    id,
    author: 'William Shakespeare',
    year: 1595,
    type: 'paperback',
    pages: 200,
    publisher: 'PublisherA',
    language: 'English',
    'ISBN-10': '1234567890',
    'ISBN-13': '123-1234567890',
  };
}

await serve('details', [{ path: /^\/details\/(\d+)$/, handler: (m) => ({ status: 200, body: bookDetails(Number(m[1])) }) }]);
