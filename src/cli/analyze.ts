// `l4mesh analyze [-n NS | -A] [-o table|json|yaml] [--failure-threshold LEVEL]`: istioctl analyze's checks on
// the stored configuration, with stable codes; exits 79 (istioctl's code) when a finding reaches the threshold.
import { parseArgs } from 'node:util';
import { stringify } from 'yaml';
import { KINDS } from '../api/kinds.js';
import type { Resource } from '../api/types.js';
import { analyze } from '../analysis/analyze.js';
import { LEVEL_RANK, MESSAGES, resourceName, type Finding, type Level } from '../analysis/messages.js';
import { formatTable, openContext, runCommand, UsageError } from './cli-context.js';

/** istioctl analyze's exit code when it found issues at or above the threshold, for CI scripts. */
export const EXIT_FOUND_ISSUES = 79;

const LEVELS: readonly Level[] = ['Info', 'Warning', 'Error'];
/** istioctl's default: warnings fail the run, infos do not. */
const DEFAULT_THRESHOLD: Level = 'Warning';
const OUTPUTS = ['table', 'json', 'yaml'];

const HELP = `usage: l4mesh analyze [-n NAMESPACE | -A] [-o table|json|yaml] [--failure-threshold Info|Warning|Error]

Checks the stored configuration the way "istioctl analyze" does and prints each finding with its code,
severity, resource, message and fix. The whole mesh is the context; -n (default "default") or -A chooses
whose findings are shown. Exits ${EXIT_FOUND_ISSUES} when a finding is at or above --failure-threshold (default ${DEFAULT_THRESHOLD}).

codes:
${Object.values(MESSAGES)
  .map((m) => `  ${m.code}  ${m.level.padEnd(7)}  ${m.name}`)
  .join('\n')}
`;

function table(findings: Finding[]): string {
  const rows: string[][] = [];
  for (const f of findings) {
    rows.push([f.level, f.code, resourceName(f.resource), f.message]);
    rows.push(['', '', '', `fix: ${f.fix}`]);
  }
  return formatTable(['SEVERITY', 'CODE', 'RESOURCE', 'MESSAGE'], rows);
}

export async function run(args: string[]): Promise<number> {
  return runCommand('analyze', HELP, args, async () => {
    const { values } = parseArgs({
      args,
      options: {
        namespace: { type: 'string', short: 'n' },
        'all-namespaces': { type: 'boolean', short: 'A' },
        output: { type: 'string', short: 'o' },
        'failure-threshold': { type: 'string' },
        'state-dir': { type: 'string' },
      },
      strict: true,
    });
    const output = values.output ?? 'table';
    if (!OUTPUTS.includes(output)) throw new UsageError(`-o ${output}: use one of ${OUTPUTS.join(', ')}`);
    const threshold = (values['failure-threshold'] ?? DEFAULT_THRESHOLD) as Level;
    if (!LEVELS.includes(threshold)) throw new UsageError(`--failure-threshold ${String(values['failure-threshold'])}: use one of ${LEVELS.join(', ')}`);
    const ns = values.namespace ?? 'default';
    const ctx = await openContext(values['state-dir']);
    const resources: Resource[] = (await Promise.all(KINDS.map((k) => ctx.client.list(k, undefined)))).flat();
    const findings = analyze(resources, values['all-namespaces'] ? {} : { namespaces: [ns] });
    const where = values['all-namespaces'] ? 'all namespaces' : `namespace: ${ns}`;
    if (output === 'json') process.stdout.write(JSON.stringify(findings, null, 2) + '\n');
    else if (output === 'yaml') process.stdout.write(stringify(findings));
    else if (findings.length === 0) process.stdout.write(`✔ No validation issues found when analyzing ${where}.\n`);
    else process.stdout.write(table(findings));
    const failing = findings.filter((f) => LEVEL_RANK[f.level] >= LEVEL_RANK[threshold]);
    if (failing.length === 0) return 0;
    if (output === 'table') process.stderr.write(`Error: Analyzers found issues when analyzing ${where}.\n`);
    return EXIT_FOUND_ISSUES;
  });
}
