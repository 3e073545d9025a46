// Running `npm run demo` for the demo tests (local and netns mode): the child with its output, waiting on
// what it prints, and the checks of the product page it serves.
import assert from 'node:assert/strict';
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { join } from 'node:path';
import { packageRoot } from '../../../src/config/paths.js';
import { FIXED_RATINGS, SEEDED_RATINGS } from '../../../samples/bookinfo/src/ratings-seed.js';

export interface RunningDemo {
  child: ChildProcessWithoutNullStreams;
  /** Everything it printed so far, stdout and stderr. */
  output(): string;
  exited: Promise<number | null>;
}

/** `scripts/demo.mjs ARGS` on the test mesh's state dir and address block. */
export function startDemo(args: string[], mesh: { base: number; stateDir: string }): RunningDemo {
  const child = spawn(process.execPath, [join(packageRoot(), 'scripts', 'demo.mjs'), ...args, '--state-dir', mesh.stateDir], {
    cwd: packageRoot(),
    env: { ...process.env, L4MESH_LOCAL_NET: `127.${mesh.base}`, L4MESH_STATE_DIR: mesh.stateDir },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  child.stdin.end();
  let out = '';
  child.stdout.on('data', (b: Buffer) => (out += b));
  child.stderr.on('data', (b: Buffer) => (out += b));
  const exited = new Promise<number | null>((resolve) => child.once('close', (code) => resolve(code)));
  return { child, output: () => out, exited };
}

/** The page the demo serves: reviews v3's red stars with the counts seeded in PostgreSQL (through ratings v2). */
export function assertDatabasePage(html: string): void {
  assert.match(html, /<h1>The Comedy of Errors<\/h1>/);
  assert.match(html, /Reviews served by: reviews-v3-/);
  const stars = pageStars(html);
  assert.deepEqual(stars, SEEDED_RATINGS.map((r) => [r.reviewer, r.rating, 'red']));
  // The seed differs from ratings v1's fixed answer, so these stars can only have come from PostgreSQL.
  assert.notDeepEqual(stars.map((s) => s[1]), Object.values(FIXED_RATINGS));
}

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
