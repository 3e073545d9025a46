// Files every replica must hold the same copy of (admin token, CA root key and certificate): etcd has
// the one copy; the first replica to start writes its own in one transaction, the others adopt it.
import { adminTokenPath, rootCertFile, rootKeyFile } from '../../config/state-layout.js';
import { readFile } from 'node:fs/promises';
import type { Etcd3 } from 'etcd3';
import { writeFileAtomic } from '../../config/secret-file.js';
import { L4meshError } from '../../errors/index.js';
import { ETCD_PREFIX, unavailable } from './etcd-connection.js';

export const SHARED_PREFIX = `${ETCD_PREFIX}shared/`;

/** State-dir files that must be identical on every replica, and the mode each is written with. */
export const SHARED_FILES = [
  { key: 'admin.token', file: adminTokenPath, mode: 0o600 },
  { key: 'ca/root-key.pem', file: rootKeyFile, mode: 0o600 },
  { key: 'ca/root-cert.pem', file: rootCertFile, mode: 0o644 },
] as const;

/**
 * Makes the state dir's shared files those in etcd. When etcd has none yet, `createLocal` makes them
 * in the state dir (as a single replica would) and they are offered in one create-if-absent
 * transaction; a replica that loses that race takes the winner's. Resolves to 'created' or 'adopted'.
 */
export async function shareStateFiles(client: Etcd3, endpoints: string[], stateDir: string, createLocal: () => Promise<void>): Promise<'created' | 'adopted'> {
  const keys = SHARED_FILES.map((f) => SHARED_PREFIX + f.key);
  const fetchAll = async (): Promise<Array<string | null>> => {
    try {
      return await Promise.all(keys.map((k) => client.get(k).string()));
    } catch (err) {
      throw unavailable(endpoints, 'read the shared CA and admin token', err);
    }
  };
  const adopt = async (values: Array<string | null>): Promise<'adopted'> => {
    if (values.some((v) => v === null)) {
      throw new L4meshError(
        'L4MESH_ERR_STORE',
        `etcd holds only some of ${keys.join(', ')}; l4mesh writes them in one transaction, so they were changed outside l4mesh: restore them or delete all of them`,
      );
    }
    for (const [i, f] of SHARED_FILES.entries()) await writeFileAtomic(f.file(stateDir), values[i]!, f.mode);
    return 'adopted';
  };
  const existing = await fetchAll();
  if (existing.some((v) => v !== null)) return adopt(existing);
  await createLocal();
  const local = await Promise.all(SHARED_FILES.map((f) => readFile(f.file(stateDir), 'utf8')));
  let res;
  try {
    const txn = client.if(keys[0]!, 'Create', '==', 0);
    for (const k of keys.slice(1)) txn.and(k, 'Create', '==', 0);
    res = await txn.then(...keys.map((k, i) => client.put(k).value(local[i]!))).commit();
  } catch (err) {
    throw unavailable(endpoints, 'store the shared CA and admin token', err);
  }
  return res.succeeded ? 'created' : adopt(await fetchAll());
}
