// The file store's revision counter on disk, so a restart never hands out a resourceVersion already seen.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { L4meshError } from '../../errors/index.js';
import { resourcesRoot } from './layout.js';

/** `<stateDir>/resources/revision`: the last resourceVersion handed out, as decimal text. */
export const REVISION_FILE = 'revision';

export function revisionFile(stateDir: string): string {
  return join(resourcesRoot(stateDir), REVISION_FILE);
}

/** The persisted revision, 0 when the store has never written one (a new or pre-counter state dir). */
export async function readRevision(stateDir: string): Promise<number> {
  const file = revisionFile(stateDir);
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return 0;
    throw new L4meshError('L4MESH_ERR_STORE', `cannot read the store's revision ${file}: ${(err as Error).message}; check its permissions`, { cause: err });
  }
  const value = text.trim();
  if (!/^\d{1,15}$/.test(value)) {
    throw new L4meshError(
      'L4MESH_ERR_STORE',
      `the store's revision ${file} holds ${JSON.stringify(value.slice(0, 40))}, not a decimal number; l4mesh writes it atomically, so it was edited outside l4mesh: write the highest resourceVersion any client has seen into it`,
    );
  }
  return Number(value);
}
