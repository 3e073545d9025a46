// Where l4mesh keeps things on disk: the package root (assets such as .proto files, from src/ and dist/
// alike) and the one per-user state directory every command finds the local mesh through.
import { existsSync, mkdirSync, statSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, isAbsolute, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { L4meshError } from '../errors/index.js';

let cachedRoot: string | undefined;

export function packageRoot(): string {
  if (cachedRoot) return cachedRoot;
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 8; i++) {
    if (existsSync(join(dir, 'package.json')) && existsSync(join(dir, 'src', 'proto'))) {
      cachedRoot = dir;
      return dir;
    }
    dir = dirname(dir);
  }
  throw new L4meshError(
    'L4MESH_ERR_CONFIG',
    `cannot find the l4mesh package root (package.json beside src/proto) above ${fileURLToPath(import.meta.url)}; the installation is incomplete, reinstall l4mesh`,
  );
}

/**
 * Node's `--openssl-config` with src/config/openssl.cnf (OpenSSL settings Node has no API for), for the
 * processes l4mesh starts. Nothing when the user chose an OpenSSL config already (a flag in `execArgv` or
 * NODE_OPTIONS, or OPENSSL_CONF): theirs wins, and the mesh works the same without ours.
 */
export function opensslConfigArgs(execArgv: readonly string[] = process.execArgv, env: NodeJS.ProcessEnv = process.env): string[] {
  const chosen = (a: string) => a === '--openssl-config' || a.startsWith('--openssl-config=');
  if (execArgv.some(chosen) || (env['NODE_OPTIONS'] ?? '').split(/\s+/).some(chosen) || env['OPENSSL_CONF']) return [];
  return [`--openssl-config=${join(packageRoot(), 'src', 'config', 'openssl.cnf')}`];
}

export function protoDir(): string {
  return join(packageRoot(), 'src', 'proto');
}

export const ENV_STATE_DIR = 'L4MESH_STATE_DIR';
/** How help texts name the default: per user like kubectl's ~/.kube, so every directory finds the same mesh. */
export const DEFAULT_STATE_DIR_TEXT = '${XDG_STATE_HOME:-~/.local/state}/l4mesh';
/** The state holds the CA key and tokens: directories l4mesh creates are its user's only. */
const STATE_DIR_MODE = 0o700;

/** `$XDG_STATE_HOME/l4mesh`, else `~/.local/state/l4mesh` (the XDG spec ignores a relative XDG_STATE_HOME). */
export function defaultStateDir(env: NodeJS.ProcessEnv = process.env): string {
  const xdg = env['XDG_STATE_HOME'];
  return join(xdg && isAbsolute(xdg) ? xdg : join(homedir(), '.local', 'state'), 'l4mesh');
}

/** `--state-dir`, else `$L4MESH_STATE_DIR`, else the per-user default; always absolute. */
export function resolveStateDir(flag: string | undefined, env: NodeJS.ProcessEnv = process.env): string {
  return resolve(flag || env[ENV_STATE_DIR] || defaultStateDir(env));
}

/** Where a resolved state dir came from, for messages that must say which one was used. */
export function stateDirSource(flag: string | undefined, env: NodeJS.ProcessEnv = process.env): string {
  if (flag) return '--state-dir';
  if (env[ENV_STATE_DIR]) return `$${ENV_STATE_DIR}`;
  return `the default ${DEFAULT_STATE_DIR_TEXT}`;
}

/**
 * Creates the state dir one level at a time. Not `mkdir -p`: Node's recursive mkdir never returns for a
 * path under /proc (it retries ENOENT forever), and a one-level mkdir fails at once naming the path.
 */
export function createStateDir(dir: string): void {
  const missing: string[] = [];
  let p = resolve(dir);
  while (!existsSync(p)) {
    missing.unshift(p);
    const parent = dirname(p);
    if (parent === p) break;
    p = parent;
  }
  if (missing.length === 0 && !statSync(p).isDirectory()) {
    throw new L4meshError('L4MESH_ERR_CONFIG', `state dir ${dir} exists and is not a directory; choose another with --state-dir or $${ENV_STATE_DIR}`);
  }
  for (const m of missing) {
    try {
      mkdirSync(m, { mode: STATE_DIR_MODE });
    } catch (err) {
      const e = err as NodeJS.ErrnoException;
      if (e.code === 'EEXIST' && statSync(m).isDirectory()) continue;
      throw new L4meshError('L4MESH_ERR_CONFIG', `cannot create the state dir ${dir}: mkdir ${m}: ${e.code ?? e.message}; choose a writable directory with --state-dir or $${ENV_STATE_DIR}`, { cause: err });
    }
  }
}
