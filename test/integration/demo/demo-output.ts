// Waiting on what a running `npm run demo` prints, for the demo tests (local and netns mode).

/** Resolves with the first match of `pattern` in the output so far; rejects when the demo exits first or time runs out. */
export function waitForOutput(get: () => string, pattern: RegExp, done: () => boolean, timeoutMs: number): Promise<RegExpMatchArray> {
  return new Promise((resolve, reject) => {
    const deadline = Date.now() + timeoutMs;
    const tick = () => {
      const m = get().match(pattern);
      if (m) return resolve(m);
      if (done()) return reject(new Error(`demo exited before printing ${pattern}:\n${get()}`));
      if (Date.now() > deadline) return reject(new Error(`no ${pattern} within ${timeoutMs} ms:\n${get()}`));
      setTimeout(tick, 200);
    };
    tick();
  });
}

/** The reviewers and stars a product page shows, as [reviewer, stars, color]. */
export function pageStars(html: string): Array<[string, number, string]> {
  return [...html.matchAll(/<small>(Reviewer\d)<\/small>\n<span class="stars" data-stars="(\d)" data-color="(\w+)"/g)].map((m) => [m[1]!, Number(m[2]), m[3]!]);
}
