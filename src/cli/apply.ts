// `l4mesh apply -f FILE|DIR|-`: creates or updates resources and prints kubectl's lines
// (`deployment.apps/ratings-v2 created`, `service/ratings unchanged`, `... configured`).
import { parseArgs } from 'node:util';
import { kindByName, qualifiedName } from '../api/kinds.js';
import { openContext, runCommand } from './cli-context.js';
import { checkedManifest, inManifest, readManifests } from './manifest-files.js';

const HELP = `usage: l4mesh apply -f FILE|DIR|- [-f ...] [-n NAMESPACE] [--state-dir DIR]

Creates or updates every resource in the files (a directory: its *.yaml, *.yml and *.json files in
name order; "-": stdin; each at most 16 MiB). Every file is checked before the first is applied: a file
that does not parse or holds an invalid resource stops the command with nothing applied. All documents
of one file are applied together or not at all; an error names the file. A Deployment remembers the
directory of its file: its pods run there (unless a container sets workingDir).
`;

export async function run(args: string[]): Promise<number> {
  return runCommand('apply', HELP, args, async () => {
    const { values } = parseArgs({
      args,
      options: { filename: { type: 'string', short: 'f', multiple: true }, namespace: { type: 'string', short: 'n' }, 'state-dir': { type: 'string' } },
      strict: true,
    });
    const sources = await readManifests(values.filename ?? []);
    const bodies = sources.map((src) => checkedManifest(src, values.namespace, true));
    const ctx = await openContext(values['state-dir']);
    for (const [i, src] of sources.entries()) {
      const results = await ctx.client.apply(bodies[i]!).catch((err: unknown) => {
        throw inManifest(src, err);
      });
      for (const r of results) {
        const info = kindByName(r.kind);
        process.stdout.write(`${info ? qualifiedName(info) : r.kind.toLowerCase()}/${r.name} ${r.action}\n`);
      }
    }
    return 0;
  });
}
