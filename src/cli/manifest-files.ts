// Reads the manifests `apply -f` / `delete -f` name (file, directory of *.yaml|*.yml|*.json, or "-" for
// stdin) and stamps what the local runtime needs: the namespace from -n and the Deployments' working dir.
import { open, readdir, stat } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { parseManifests } from '../api/manifest.js';
import { MAX_MANIFEST_BYTES } from '../api/manifest-limits.js';
import { decodeManifestText } from '../api/manifest-text.js';
import { readYamlDocuments } from '../api/yaml-documents.js';
import { L4meshError } from '../errors/index.js';
import { ANNOTATION_WORKING_DIR } from '../localrun/pod-naming.js';
import { UsageError } from './cli-context.js';

export interface ManifestSource {
  /** Where the text came from, for messages: the path as given (a directory's entries joined to it), or "stdin". */
  name: string;
  /** Multi-document YAML. */
  text: string;
  /** Directory of the file: the working directory of the Deployments' pods. */
  dir: string;
}

/** Reads in pieces of this size, so a file with no end (/dev/zero) is refused after MAX_MANIFEST_BYTES, not at 512 MB. */
const READ_CHUNK_BYTES = 1024 * 1024;

function tooLarge(name: string): L4meshError {
  return new L4meshError(
    'L4MESH_ERR_BODY_TOO_LARGE',
    `${name}: is larger than ${MAX_MANIFEST_BYTES} bytes (16 MiB), the most the control plane accepts in one apply; split it into several files`,
  );
}

/** Collects chunks until the end or until they pass the limit, then stops reading. */
async function collect(name: string, chunks: AsyncIterable<Uint8Array>, stop: () => Promise<void> | void): Promise<string> {
  const parts: Uint8Array[] = [];
  let size = 0;
  for await (const chunk of chunks) {
    size += chunk.length;
    if (size > MAX_MANIFEST_BYTES) {
      await stop();
      throw tooLarge(name);
    }
    parts.push(chunk);
  }
  return decodeManifestText(Buffer.concat(parts), name);
}

async function readBounded(name: string, path: string): Promise<string> {
  const file = await open(path, 'r');
  try {
    async function* chunks(): AsyncGenerator<Uint8Array> {
      for (;;) {
        const buffer = Buffer.allocUnsafe(READ_CHUNK_BYTES);
        const { bytesRead } = await file.read(buffer, 0, buffer.length, null);
        if (bytesRead === 0) return;
        yield buffer.subarray(0, bytesRead);
      }
    }
    return await collect(name, chunks(), () => undefined);
  } finally {
    await file.close();
  }
}

function readStdin(): Promise<string> {
  return collect('stdin', process.stdin as AsyncIterable<Uint8Array>, () => void process.stdin.destroy());
}

export async function readManifests(paths: string[]): Promise<ManifestSource[]> {
  if (paths.length === 0) throw new UsageError('no manifests given: use -f FILE, -f DIR or -f - (stdin)');
  const out: ManifestSource[] = [];
  for (const p of paths) {
    if (p === '-') {
      out.push({ name: 'stdin', text: await readStdin(), dir: process.cwd() });
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
      for (const n of names) out.push({ name: join(p, n), text: await readBounded(join(p, n), join(full, n)), dir: full });
    } else {
      out.push({ name: p, text: await readBounded(p, full), dir: dirname(full) });
    }
  }
  return out;
}

/**
 * Adds `metadata.namespace` from -n where a document has none, and on Deployments the annotation
 * recording the manifest's directory. Only for a text that checkedManifest parsed already.
 */
function stampManifest(src: ManifestSource, namespace: string | undefined, workingDir: boolean): string {
  const parts: string[] = [];
  for (const { value } of readYamlDocuments(src.text)) {
    if (!value || typeof value !== 'object') continue;
    const obj = value as Record<string, unknown>;
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

/**
 * The text to send for `src`, after checking it as the control plane will (YAML, limits, each resource's
 * schema; the document numbers are the file's own). Every file of a command is checked before the first
 * is sent, so a mistake in the last file leaves the mesh as it was, and is reported without a control plane.
 */
export function checkedManifest(src: ManifestSource, namespace: string | undefined, workingDir: boolean): string {
  try {
    parseManifests(src.text);
  } catch (err) {
    throw inManifest(src, err);
  }
  return stampManifest(src, namespace, workingDir);
}

/** The same error with the manifest's name in front, so an operator applying several files knows which failed. */
export function inManifest(src: ManifestSource, err: unknown): unknown {
  if (!(err instanceof L4meshError) || err.code === 'L4MESH_ERR_NO_CONTROL_PLANE') return err;
  return new L4meshError(err.code, `${src.name}: ${err.message}`, { cause: err });
}
