// Reads the runnable blocks of a Markdown guide and compares command output with the output it shows.
// Convention (stated at the top of each guide): every ```sh block runs; the ```text block right after it is
// its output; an HTML comment `<!-- test: MODE [retry=Ns] [variant=local|netns] -->` just before the block
// picks the check. A block with a variant belongs to that mode's run only (the guide shows netns mode's
// steps where they differ); a block without one runs in both.
//
// Only what differs from run to run is masked (times, ages and durations, pids, pod-name suffixes,
// certificate serials, state-dir paths, a client's ephemeral source port); counts, readiness, node names,
// endpoint ratios, label values, byte counts and addresses stay, so a wrong value fails the check.

/**
 * masked: the same lines in the same order after masking (the default when a text block follows).
 * unordered: the same lines, in any order (output merged from several processes, e.g. two access logs).
 * contains: every shown line appears; other lines may too (a log that also holds earlier traffic).
 * exact: the same lines, nothing masked. exit: exit status 0 only. skip: not run.
 */
export type Mode = 'masked' | 'unordered' | 'contains' | 'exact' | 'exit' | 'skip';

/** Which mesh a guide is run against: `l4mesh up` (local) or `l4mesh up --mode netns`. */
export type Variant = 'local' | 'netns';

export interface Block {
  /** 1-based line of the ```sh fence, for messages. */
  line: number;
  script: string;
  expected?: string;
  mode: Mode;
  retryMs: number;
  /** The one mode's run this block belongs to; undefined: both. */
  variant?: Variant;
}

/** The blocks a run in `variant` executes, in page order. */
export function blocksFor(blocks: readonly Block[], variant: Variant): Block[] {
  return blocks.filter((b) => b.variant === undefined || b.variant === variant);
}

const MODES: readonly Mode[] = ['masked', 'unordered', 'contains', 'exact', 'exit', 'skip'];

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
  let marker: { mode: Mode; retryMs: number; variant?: Variant } | undefined;
  for (let i = 0; i < lines.length; i++) {
    const text = lines[i]!.trim();
    const m = /^<!-- test: (\w+)(.*?)-->$/.exec(text);
    if (m) {
      if (!MODES.includes(m[1] as Mode)) throw new Error(`line ${i + 1}: unknown test mode "${m[1]}" (known: ${MODES.join(', ')})`);
      const retry = /retry=(\d+)s/.exec(m[2]!);
      const variant = /variant=(\S+)/.exec(m[2]!)?.[1];
      if (variant !== undefined && variant !== 'local' && variant !== 'netns') throw new Error(`line ${i + 1}: unknown variant "${variant}" (known: local, netns)`);
      marker = { mode: m[1] as Mode, retryMs: retry ? Number(retry[1]) * 1000 : 0, ...(variant ? { variant: variant as Variant } : {}) };
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
    const mode = marker?.mode ?? (expected !== undefined ? 'masked' : 'exit');
    if (expected !== undefined && mode === 'exit') throw new Error(`line ${i + 1}: the block shows output but is marked "exit"; check the output or do not show it`);
    blocks.push({ line: i + 1, script: sh.body, expected, mode, retryMs: marker?.retryMs ?? 0, ...(marker?.variant ? { variant: marker.variant } : {}) });
    marker = undefined;
    i = j;
  }
  return blocks;
}

/** stderr that is more than progress: it joins the compared output, so the block fails. */
const TROUBLE_ON_STDERR = /error|warn|deprecat|fail/i;

/**
 * What a block printed, as compared with the guide: stdout, and stderr too when the command failed or
 * stderr reports an error or warning (a guide never shows one, so the comparison then fails).
 */
export function blockOutput(code: number | null, stdout: string, stderr: string): string {
  return code !== 0 || TROUBLE_ON_STDERR.test(stderr) ? `${stdout}\n--- stderr ---\n${stderr}` : stdout;
}

/** Commands are written for the default layout; a test mesh lives in 127.<b>.0.0/16. */
export function rewriteAddresses(script: string, base: number): string {
  return script
    .replace(/127\.0\.10\.(\d+)/g, `127.${base}.0.$1`)
    .replace(/127\.0\.0\.1:(15014|15012|9090)/g, `127.${base}.0.254:$1`);
}

/** netns mode's commands are written for the default prefix; a test mesh names its namespaces `l4m-t<hex>-…`. */
export function withNetnsPrefix(script: string, prefix: string): string {
  return script.replace(/\bl4mesh up --mode netns\b/g, `l4mesh up --mode netns --netns-prefix ${prefix}`);
}

/** The inverse for output: a test prefix written as the default `l4m`. */
export function toDefaultPrefix(text: string, prefix: string): string {
  return text.split(prefix).join('l4m');
}

/**
 * The inverse for output: a test mesh's addresses (src/localrun/layout.ts, makeLayout with a base) written
 * as the default layout's, so the guide's addresses are compared, not masked. Pod IPs 127.b.1.y and VIPs
 * 127.b.3.y map to 127.1.0.y and 127.2.0.y: both are handed out lowest first in either layout.
 */
export function toDefaultLayout(text: string, base: number): string {
  const b = String(base);
  return text
    .replace(new RegExp(`127\\.${b}\\.1\\.1-127\\.${b}\\.2\\.254`, 'g'), '127.1.0.1-127.1.255.254')
    .replace(new RegExp(`127\\.${b}\\.3\\.0/24`, 'g'), '127.2.0.0/16')
    .replace(new RegExp(`127\\.${b}\\.(\\d+)\\.0/19`, 'g'), (_, third: string) => `127.${64 + Number(third) / 32}.0.0/16`)
    .replace(new RegExp(`\\b127\\.${b}\\.0\\.254\\b`, 'g'), '127.0.0.1')
    .replace(new RegExp(`\\b127\\.${b}\\.0\\.(\\d+)\\b`, 'g'), '127.0.10.$1')
    .replace(new RegExp(`\\b127\\.${b}\\.1\\.(\\d+)\\b`, 'g'), '127.1.0.$1')
    .replace(new RegExp(`\\b127\\.${b}\\.3\\.(\\d+)\\b`, 'g'), '127.2.0.$1');
}

/** Masks only what changes from run to run; every other character, digits included, is compared. */
export function normalize(line: string): string {
  return (
    line
      // The state dir (a temp dir in tests, the user's home in the guide): absolute paths of 2+ segments.
      .replace(/(?<![\w.:/<])\/(?:[\w.-]+\/)+[\w.-]*/g, '<path>')
      .replace(/\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z/g, '<time>')
      // Unix times in seconds (Prometheus' sample timestamps).
      .replace(/\b1\d{9}(\.\d+)?\b/g, '<time>')
      // Pod names: <deployment>-<10-char template hash>-<5-char random>, as Kubernetes names them.
      .replace(/\b([a-z0-9-]+?)-[bcdfghjklmnpqrstvwxz2456789]{10}-[bcdfghjklmnpqrstvwxz2456789]{5}\b/g, '$1-<pod>')
      .replace(/\bpid \d+\b/g, 'pid <pid>')
      // Certificate serial numbers.
      .replace(/\b[0-9a-f]{16,}\b/g, '<hex>')
      // Ages and durations: 46s, 2m3s, 88ms.
      .replace(/\b\d+(?:\.\d+)?(?:ms|s|m|h|d)(?:\d+(?:ms|s|m|h|d))*\b/g, '<age>')
      // A client's source port is ephemeral (the access log's src.addr).
      .replace(/\b(src\.addr=[\d.]+:)\d+\b/g, '$1<port>')
      .replace(/\s+/g, ' ')
      .trim()
  );
}

function meaningful(text: string, mask: boolean): string[] {
  return text
    .split('\n')
    .map((l) => (mask ? normalize(l) : l.replace(/\s+/g, ' ').trim()))
    .filter((l) => l !== '');
}

function differs(what: string, e: string[], a: string[]): string {
  const first = e.findIndex((l, i) => l !== a[i]);
  const at = first < 0 ? Math.min(e.length, a.length) : first;
  return `${what}; first difference at line ${at + 1}:\n  expected: ${e[at] ?? '(no more lines)'}\n  got:      ${a[at] ?? '(no more lines)'}\nexpected:\n${e.join('\n')}\ngot:\n${a.join('\n')}`;
}

/** undefined when `actual` matches `expected` under `mode`, else what differs. */
export function compare(mode: Mode, expected: string | undefined, actual: string): string | undefined {
  if (mode === 'exit' || mode === 'skip') return undefined;
  if (expected === undefined) return `mode "${mode}" needs a text block with the expected output`;
  const [e, a] = [meaningful(expected, mode !== 'exact'), meaningful(actual, mode !== 'exact')];
  if (mode === 'exact' || mode === 'masked') {
    return JSON.stringify(e) === JSON.stringify(a) ? undefined : differs(mode === 'exact' ? 'output differs' : 'output differs (masked)', e, a);
  }
  if (mode === 'unordered') {
    const [se, sa] = [[...e].sort(), [...a].sort()];
    return JSON.stringify(se) === JSON.stringify(sa) ? undefined : differs('output differs (masked, sorted)', se, sa);
  }
  // contains: each shown line must be matched by its own output line (two equal shown lines need two).
  const left = [...a];
  const missing: string[] = [];
  for (const l of e) {
    const i = left.indexOf(l);
    if (i < 0) missing.push(l);
    else left.splice(i, 1);
  }
  return missing.length === 0 ? undefined : `lines not in the output:\n${missing.join('\n')}\noutput (masked):\n${a.join('\n')}`;
}
