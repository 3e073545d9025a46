// The per-proxy admin token: written (0600, in a 0700 directory) at proxy start, read by the CLI and the
// local runtime from the state dir, required as `Authorization: Bearer` by every admin endpoint that
// changes state (POST /logging, POST /quitquitquit), so a workload that can reach the admin port cannot stop
// the proxy or change its logging.
import { randomBytes, timingSafeEqual } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { chmod, mkdir } from 'node:fs/promises';
import type { IncomingMessage } from 'node:http';
import { writeFileAtomic } from '../../config/secret-file.js';
import { proxyAdminTokenPath, proxyAdminTokensDir } from '../../config/state-layout.js';

/** `<state dir>/admin-tokens/<proxy address>.token`: callers know a proxy by the address its admin port binds. */
export { proxyAdminTokenPath };

/** Owner-only: the token lets its holder stop the proxy. */
const TOKEN_FILE_MODE = 0o600;
const TOKEN_DIR_MODE = 0o700;
/** 256 bits, like the control plane's admin token. */
const TOKEN_BYTES = 32;
/** The realm named in WWW-Authenticate, so a 401 says which credential is wanted. */
export const ADMIN_REALM = 'l4mesh-proxy-admin';

/** A fresh token for the proxy at `address`, written atomically (a restarted proxy replaces its old one). */
export async function writeProxyAdminToken(stateDir: string, address: string): Promise<string> {
  const dir = proxyAdminTokensDir(stateDir);
  await mkdir(dir, { recursive: true, mode: TOKEN_DIR_MODE });
  // mkdir leaves an existing directory's mode alone (and applies the umask to a new one).
  await chmod(dir, TOKEN_DIR_MODE);
  const token = randomBytes(TOKEN_BYTES).toString('hex');
  await writeFileAtomic(proxyAdminTokenPath(stateDir, address), token + '\n', TOKEN_FILE_MODE);
  return token;
}

/** The token of the proxy at `address`; undefined when that proxy never started with this state dir. */
export function readProxyAdminToken(stateDir: string, address: string): string | undefined {
  try {
    return readFileSync(proxyAdminTokenPath(stateDir, address), 'utf8').trim() || undefined;
  } catch {
    return undefined;
  }
}

/** Headers a caller of a mutating admin endpoint sends; empty when no token is on disk (the proxy then answers 401). */
export function adminAuthHeaders(stateDir: string, address: string): Record<string, string> {
  const token = readProxyAdminToken(stateDir, address);
  return token ? { authorization: `Bearer ${token}` } : {};
}

export type AdminCredential = 'ok' | 'missing' | 'wrong';

/** Checks `Authorization: Bearer <token>` in constant time. */
export function checkAdminCredential(req: IncomingMessage, token: string): AdminCredential {
  const header = req.headers.authorization;
  if (!header) return 'missing';
  const m = /^Bearer\s+(\S+)\s*$/i.exec(header);
  // Another scheme (Basic, ...) is no credential of ours: 401 says which one is wanted.
  if (!m) return 'missing';
  const given = Buffer.from(m[1]!);
  const expected = Buffer.from(token);
  if (given.length !== expected.length) return 'wrong';
  return timingSafeEqual(given, expected) ? 'ok' : 'wrong';
}
