// Reads the manifests `apply -f` / `delete -f` name (file, directory of *.yaml|*.yml|*.json, or "-" for
// stdin) and stamps what the local runtime needs: the namespace from -n and the Deployments' working dir.
import { readdir, readFile, stat } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { parseAllDocuments } from 'yaml';
import { ANNOTATION_WORKING_DIR } from '../localrun/pod-naming.js';
import { UsageError } from './cli-context.js';

export interface ManifestSource {
  /** Multi-document YAML. */
  text: string;
  /** Directory of the file: the working directory of the Deployments' pods. */
  dir: string;
}

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of process.stdin) chunks.push(c as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

export async function readManifests(paths: string[]): Promise<ManifestSource[]> {
  if (paths.length === 0) throw new UsageError('no manifests given: use -f FILE, -f DIR or -f - (stdin)');
  const out: ManifestSource[] = [];
  for (const p of paths) {
    if (p === '-') {
      out.push({ text: await readStdin(), dir: process.cwd() });
      continue;
    }
    const full = resolve(p);
    let info;
    try {
      info = await stat(full);
    } catch {
      throw new UsageError(`the path "${p}" does not exist`);
    }
    if (info.isDirectory()) {
      const names = (await readdir(full)).filter((n) => /\.(ya?ml|json)$/.test(n)).sort();
      for (const n of names) out.push({ text: await readFile(join(full, n), 'utf8'), dir: full });
    } else {
      out.push({ text: await readFile(full, 'utf8'), dir: dirname(full) });
    }
  }
  return out;
}

/**
 * Adds `metadata.namespace` from -n where a document has none, and on Deployments the annotation
 * recording the manifest's directory. Documents that do not parse are passed on untouched so the
 * control plane reports the error with its document number.
 */
export function stampManifest(src: ManifestSource, namespace: string | undefined, workingDir: boolean): string {
  const docs = parseAllDocuments(src.text);
  if (!Array.isArray(docs)) return src.text;
  const parts: string[] = [];
  for (const doc of docs) {
    if (doc.errors.length > 0) return src.text;
    const obj = doc.toJS() as Record<string, unknown> | null;
    if (!obj || typeof obj !== 'object') continue;
    const meta = (obj['metadata'] && typeof obj['metadata'] === 'object' ? obj['metadata'] : (obj['metadata'] = {})) as Record<string, unknown>;
    if (namespace && meta['namespace'] === undefined && obj['kind'] !== 'Namespace') meta['namespace'] = namespace;
    if (workingDir && obj['kind'] === 'Deployment') {
      const ann = (meta['annotations'] && typeof meta['annotations'] === 'object' ? meta['annotations'] : (meta['annotations'] = {})) as Record<string, string>;
      ann[ANNOTATION_WORKING_DIR] ??= src.dir;
    }
    parts.push(JSON.stringify(obj));
  }
  return parts.join('\n---\n');
}
