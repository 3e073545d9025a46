// Crash-safe writes of secrets (the CA key, token hashes, proxy admin tokens): readers see the old file or the new one, never a torn one.
import { randomBytes } from 'node:crypto';
import { mkdir, open, rename, rm } from 'node:fs/promises';
import { dirname } from 'node:path';

/** Owner read/write only: these files hold the root key and token hashes. */
export const SECRET_FILE_MODE = 0o600;
/** Owner-only directory, so file names and modes cannot be raced by other users. */
export const SECRET_DIR_MODE = 0o700;

/**
 * Writes `content` to a temporary sibling with `mode`, flushes it to disk, then renames it over `path`
 * (rename is atomic within a directory on POSIX filesystems).
 */
export async function writeFileAtomic(path: string, content: string, mode: number = SECRET_FILE_MODE): Promise<void> {
  await mkdir(dirname(path), { recursive: true, mode: SECRET_DIR_MODE });
  const temporary = `${path}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`;
  // 'wx': never follow or reuse an existing file at the temporary name.
  const handle = await open(temporary, 'wx', mode);
  try {
    await handle.writeFile(content, 'utf8');
    // open() applies the umask; chmod sets the exact mode we promise.
    await handle.chmod(mode);
    await handle.sync();
  } catch (error) {
    await handle.close();
    await rm(temporary, { force: true });
    throw error;
  }
  await handle.close();
  try {
    await rename(temporary, path);
  } catch (error) {
    await rm(temporary, { force: true });
    throw error;
  }
}
