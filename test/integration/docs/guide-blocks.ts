// Reads the runnable blocks of a Markdown guide and compares command output with the output it shows.
// Convention (stated at the top of each guide): every ```sh block runs; the ```text block right after it is
// its output; an HTML comment `<!-- test: MODE [retry=Ns] -->` just before the block picks the check.

export type Mode = 'shape' | 'lines' | 'exact' | 'exit' | 'skip';

export interface Block {
  /** 1-based line of the ```sh fence, for messages. */
  line: number;
  script: string;
  expected?: string;
  mode: Mode;
  retryMs: number;
}

const MODES: readonly Mode[] = ['shape', 'lines', 'exact', 'exit', 'skip'];

/** Lines of a fenced block starting after `start`, de-indented by the fence's indentation. */
function fenced(lines: string[], start: number, indent: number): { body: string; end: number } {
  const out: string[] = [];
  let i = start + 1;
  while (i < lines.length && lines[i]!.trim() !== '```') {
    out.push(lines[i]!.slice(Math.min(indent, lines[i]!.length - lines[i]!.trimStart().length)));
    i++;
  }
  if (i >= lines.length) throw new Error(`unclosed code block at line ${start + 1}`);
  return { body: out.join('\n'), end: i };
}

export function parseGuide(markdown: string): Block[] {
  const lines = markdown.split('\n');
  const blocks: Block[] = [];
  let marker: { mode: Mode; retryMs: number } | undefined;
  for (let i = 0; i < lines.length; i++) {
    const text = lines[i]!.trim();
    const m = /^<!-- test: (\w+)(.*?)-->$/.exec(text);
    if (m) {
      if (!MODES.includes(m[1] as Mode)) throw new Error(`line ${i + 1}: unknown test mode "${m[1]}" (known: ${MODES.join(', ')})`);
      const retry = /retry=(\d+)s/.exec(m[2]!);
      marker = { mode: m[1] as Mode, retryMs: retry ? Number(retry[1]) * 1000 : 0 };
      continue;
    }
    if (text !== '```sh') {
      if (text !== '' && !text.startsWith('```')) marker = undefined;
      continue;
    }
    const indent = lines[i]!.length - lines[i]!.trimStart().length;
    const sh = fenced(lines, i, indent);
    let expected: string | undefined;
    let j = sh.end + 1;
    while (j < lines.length && lines[j]!.trim() === '') j++;
    if (lines[j]?.trim() === '```text') {
      const out = fenced(lines, j, lines[j]!.length - lines[j]!.trimStart().length);
      expected = out.body;
      j = out.end;
    } else {
      j = sh.end;
    }
    blocks.push({ line: i + 1, script: sh.body, expected, mode: marker?.mode ?? (expected !== undefined ? 'shape' : 'exit'), retryMs: marker?.retryMs ?? 0 });
    marker = undefined;
    i = j;
  }
  return blocks;
}

/** Commands are written for the default layout; a test mesh lives in 127.<b>.0.0/16. */
export function rewriteAddresses(script: string, base: number): string {
  return script.replace(/127\.0\.10\.(\d+)/g, `127.${base}.0.$1`).replace(/127\.0\.0\.1:15014/g, `127.${base}.0.254:15014`).replace(/127\.0\.0\.1:15012/g, `127.${base}.0.254:15012`);
}

/** Masks what changes from run to run (paths, times, pod suffixes, addresses, serials, numbers) and spacing. */
export function normalize(line: string): string {
  return line
    .replace(/(?<![\w.:/])\/[\w.\-/]+/g, '<path>')
    .replace(/\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z/g, '<time>')
    .replace(/\b([a-z0-9-]+?)-[bcdfghjklmnpqrstvwxz2456789]{10}-[bcdfghjklmnpqrstvwxz2456789]{5}\b/g, '$1-<pod>')
    .replace(/\b\d{1,3}\.\d{1,3}\.\d{1,3}\.\d{1,3}\b/g, '<ip>')
    .replace(/\b[0-9a-f]{16,}\b/g, '<hex>')
    .replace(/\b\d+(\.\d+)?(ms|s|m|h|d)?\b/g, '<n>')
    .replace(/\s+/g, ' ')
    .trim();
}

function meaningful(text: string, mask: boolean): string[] {
  return text
    .split('\n')
    .map((l) => (mask ? normalize(l) : l.replace(/\s+/g, ' ').trim()))
    .filter((l) => l !== '');
}

/** undefined when `actual` matches `expected` under `mode`, else what differs. */
export function compare(mode: Mode, expected: string | undefined, actual: string): string | undefined {
  if (mode === 'exit' || mode === 'skip' || expected === undefined) return undefined;
  if (mode === 'exact') {
    const [e, a] = [meaningful(expected, false), meaningful(actual, false)];
    return JSON.stringify(e) === JSON.stringify(a) ? undefined : `expected exactly:\n${e.join('\n')}\ngot:\n${a.join('\n')}`;
  }
  const [e, a] = [meaningful(expected, true), meaningful(actual, true)];
  if (mode === 'lines') {
    const have = new Set(a);
    const missing = e.filter((l) => !have.has(l));
    return missing.length === 0 ? undefined : `lines not in the output:\n${missing.join('\n')}\noutput (masked):\n${a.join('\n')}`;
  }
  const [se, sa] = [[...e].sort(), [...a].sort()];
  return JSON.stringify(se) === JSON.stringify(sa) ? undefined : `expected (masked, sorted):\n${se.join('\n')}\ngot:\n${sa.join('\n')}`;
}
