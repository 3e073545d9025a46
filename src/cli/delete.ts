// `l4mesh delete -f FILE` / `l4mesh delete KIND NAME...`: kubectl's `deployment.apps "x" deleted` lines.
import { parseArgs } from 'node:util';
import { KINDS, kindByName, qualifiedName, resolveKind, type KindInfo } from '../api/kinds.js';
import { L4meshError } from '../errors/index.js';
import { openContext, runCommand, UsageError } from './cli-context.js';
import { checkedManifest, readManifests } from './manifest-files.js';

const HELP = `usage: l4mesh delete -f FILE|DIR|- [-n NAMESPACE]
       l4mesh delete KIND NAME [NAME...] [-n NAMESPACE]
       l4mesh delete KIND/NAME [-n NAMESPACE]

Deletes resources. Deleting a Deployment stops its pods. Exit code 1 if something was not found.
`;

export function unknownKind(word: string): L4meshError {
  const known = KINDS.map((k) => `${k.plural}${k.shortNames.length ? ` (${k.shortNames.join(', ')})` : ''}`).join(', ');
  return new L4meshError('L4MESH_ERR_UNKNOWN_KIND', `the server doesn't have a resource type "${word}"; known types: ${known}`);
}

export function kindOrThrow(word: string): KindInfo {
  const info = resolveKind(word);
  if (!info) throw unknownKind(word);
  return info;
}

/** kubectl's plural.group spelling in NotFound errors: `deployments.apps "x" not found`. */
export function pluralName(info: KindInfo): string {
  return info.group ? `${info.plural}.${info.group}` : info.plural;
}

export async function run(args: string[]): Promise<number> {
  return runCommand('delete', HELP, args, async () => {
    const { values, positionals } = parseArgs({
      args,
      options: { filename: { type: 'string', short: 'f', multiple: true }, namespace: { type: 'string', short: 'n' }, 'state-dir': { type: 'string' } },
      allowPositionals: true,
      strict: true,
    });
    const ns = values.namespace ?? 'default';
    let missing = 0;
    if (values.filename) {
      if (positionals.length > 0) throw new UsageError('give either -f FILE or KIND NAME, not both');
      const sources = await readManifests(values.filename);
      const bodies = sources.map((src) => checkedManifest(src, values.namespace, false));
      const ctx = await openContext(values['state-dir']);
      for (const body of bodies) {
        for (const r of await ctx.client.deleteManifests(body)) {
          const info = kindByName(r.kind)!;
          if (r.action === 'deleted') process.stdout.write(`${qualifiedName(info)} "${r.name}" deleted\n`);
          else {
            missing++;
            process.stderr.write(`Error from server (NotFound): ${pluralName(info)} "${r.name}" not found\n`);
          }
        }
      }
      return missing ? 1 : 0;
    }
    if (positionals.length === 0) throw new UsageError('nothing to delete: give -f FILE or KIND NAME');
    let targets: Array<[KindInfo, string]>;
    if (positionals[0]!.includes('/')) {
      targets = positionals.map((p) => {
        const [k, n] = p.split('/', 2);
        if (!n) throw new UsageError(`"${p}" is not KIND/NAME`);
        return [kindOrThrow(k!), n];
      });
    } else {
      const info = kindOrThrow(positionals[0]!);
      if (positionals.length < 2) throw new UsageError(`which ${info.singular}? give its name: l4mesh delete ${positionals[0]} NAME`);
      targets = positionals.slice(1).map((n) => [info, n]);
    }
    const ctx = await openContext(values['state-dir']);
    for (const [info, name] of targets) {
      if (await ctx.client.delete(info, info.namespaced ? ns : '', name)) process.stdout.write(`${qualifiedName(info)} "${name}" deleted\n`);
      else {
        missing++;
        process.stderr.write(`Error from server (NotFound): ${pluralName(info)} "${name}" not found\n`);
      }
    }
    return missing ? 1 : 0;
  });
}
