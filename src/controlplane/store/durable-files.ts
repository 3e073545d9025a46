// Crash-safe file writes for the store: a file is either its old or its new content, never a mix.
import { open, rename, unlink, mkdir } from 'node:fs/promises';
import { basename, dirname } from 'node:path';

/** Temp files are `<target>.tmp-<pid>-<n>`; open() deletes any left behind by a crash. */
export const TEMP_FILE_PATTERN = /\.tmp-\d+-\d+$/;

/**
 * The file operations the store performs. Tests substitute a wrapper that fails on a chosen call to
 * prove that a failed write leaves the store as it was.
 */
export interface DurableFiles {
  /** Replaces `file` with `data` atomically and durably (temp file, fsync, rename, fsync directory). */
  writeAtomic(file: string, data: string, mode?: number): Promise<void>;
  /** Removes `file` durably; a file that is already gone is not an error. */
  remove(file: string): Promise<void>;
}

let tempCounter = 0;

async function fsyncDirectory(dir: string): Promise<void> {
  const handle = await open(dir, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/** Creates `dir` and its missing parents, making each new directory entry durable in its parent. */
async function ensureDirectory(dir: string): Promise<void> {
  const first = await mkdir(dir, { recursive: true });
  if (first === undefined) return;
  // mkdir returns the first directory it created; every directory from its parent down to `dir` changed.
  let current = dir;
  const changed: string[] = [];
  while (current.length >= first.length) {
    changed.push(dirname(current));
    if (current === first) break;
    current = dirname(current);
  }
  for (const d of changed) await fsyncDirectory(d);
}

async function writeAtomic(file: string, data: string, mode = 0o644): Promise<void> {
  const dir = dirname(file);
  await ensureDirectory(dir);
  const temp = `${file}.tmp-${process.pid}-${++tempCounter}`;
  const handle = await open(temp, 'w', mode);
  try {
    await handle.writeFile(data, 'utf8');
    await handle.sync();
  } catch (err) {
    await handle.close().catch(() => undefined);
    await unlink(temp).catch(() => undefined);
    throw err;
  }
  await handle.close();
  try {
    await rename(temp, file);
  } catch (err) {
    await unlink(temp).catch(() => undefined);
    throw err;
  }
  await fsyncDirectory(dir);
}

async function remove(file: string): Promise<void> {
  try {
    await unlink(file);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw err;
  }
  await fsyncDirectory(dirname(file));
}

export const durableFiles: DurableFiles = { writeAtomic, remove };

export function isTempFile(file: string): boolean {
  return TEMP_FILE_PATTERN.test(basename(file));
}
