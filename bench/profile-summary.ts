// `node dist/bench/profile-summary.js <file.cpuprofile>...`: the top functions by self time of V8 CPU
// profiles (the node proxies write them with --cpu-prof; see `npm run bench -- --profile=DIR`).
import { readFileSync } from 'node:fs';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  hitCount?: number;
}

/** How many functions to list: enough to cover the copy loop and its surroundings. */
const TOP = 25;

function summarize(file: string): string {
  const profile = JSON.parse(readFileSync(file, 'utf8')) as { nodes: ProfileNode[]; startTime: number; endTime: number };
  const self = new Map<string, number>();
  let total = 0;
  for (const n of profile.nodes) {
    const hits = n.hitCount ?? 0;
    total += hits;
    const url = n.callFrame.url.replace(/^.*\/(node_modules|dist|src)\//, '$1/').replace(/^node:/, '');
    const key = `${n.callFrame.functionName || '(anonymous)'} ${url ? `${url}:${n.callFrame.lineNumber + 1}` : ''}`.trim();
    self.set(key, (self.get(key) ?? 0) + hits);
  }
  const rows = [...self.entries()].sort((a, b) => b[1] - a[1]).slice(0, TOP);
  const seconds = (profile.endTime - profile.startTime) / 1e6;
  let out = `${file}: ${total} samples over ${seconds.toFixed(1)} s\n`;
  for (const [k, v] of rows) out += `${((100 * v) / total).toFixed(1).padStart(5)}%  ${k}\n`;
  return out;
}

for (const f of process.argv.slice(2)) process.stdout.write(summarize(f) + '\n');
