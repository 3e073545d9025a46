// Starts l4mesh subcommands as child processes, from src/ under tsx or from dist/ when compiled, and
// makes sure every child is killed when the test process ends.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestContext } from 'node:test';
import { fileURLToPath } from 'node:url';
import { opensslConfigArgs, packageRoot } from '../../src/config/paths.js';

const children = new Set<ChildProcess>();
process.on('exit', () => {
  for (const c of children) if (c.exitCode === null) c.kill('SIGKILL');
});

/**
 * Another checkout whose compiled CLI children are started from, instead of this one's: `compare.js --base`
 * runs a mesh of the build it compares against beside this build's. Unset everywhere else.
 */
export const cliBuild: { root?: string } = {};

/** `node <main> <args>`: the compiled CLI when this file runs from dist/, else the TypeScript source via tsx. */
export function cliCommand(args: string[]): { command: string; args: string[] } {
  const fromDist = fileURLToPath(import.meta.url).includes(`${'/'}dist${'/'}`);
  const root = cliBuild.root ?? packageRoot();
  // As l4mesh starts its own processes: with its OpenSSL settings.
  const openssl = opensslConfigArgs([]);
  if (fromDist) return { command: process.execPath, args: [...openssl, join(root, 'dist', 'src', 'cli', 'main.js'), ...args] };
  const main = join(root, 'src', 'cli', 'main.ts');
  if (!existsSync(main)) throw new Error(`cannot find ${main}`);
  return { command: process.execPath, args: [...openssl, '--import', 'tsx', main, ...args] };
}

export interface Child {
  proc: ChildProcess;
  output(): string;
  /** Resolves when the output matches `pattern`, rejects after `timeoutMs`. */
  waitFor(pattern: RegExp, timeoutMs?: number): Promise<RegExpMatchArray>;
  stop(signal?: NodeJS.Signals, timeoutMs?: number): Promise<number | null>;
}

export function startCli(args: string[], options: { env?: Record<string, string>; cwd?: string } = {}): Child {
  const { command, args: full } = cliCommand(args);
  const proc = spawn(command, full, {
    cwd: options.cwd ?? packageRoot(),
    env: { ...process.env, ...options.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.add(proc);
  proc.on('exit', () => children.delete(proc));
  let out = '';
  const listeners = new Set<() => void>();
  const onData = (b: Buffer) => {
    out += b.toString();
    for (const l of listeners) l();
  };
  proc.stdout!.on('data', onData);
  proc.stderr!.on('data', onData);
  return {
    proc,
    output: () => out,
    waitFor(pattern, timeoutMs = 15_000) {
      return new Promise((resolve, reject) => {
        const check = () => {
          const m = out.match(pattern);
          if (m) {
            cleanup();
            resolve(m);
          } else if (proc.exitCode !== null) {
            cleanup();
            reject(new Error(`process exited (${proc.exitCode}) before printing ${pattern}:\n${out}`));
          }
        };
        const timer = setTimeout(() => {
          cleanup();
          reject(new Error(`timed out after ${timeoutMs} ms waiting for ${pattern}:\n${out}`));
        }, timeoutMs);
        const cleanup = () => {
          clearTimeout(timer);
          listeners.delete(check);
        };
        listeners.add(check);
        check();
      });
    },
    stop(signal = 'SIGTERM', timeoutMs = 10_000) {
      if (proc.exitCode !== null || proc.signalCode !== null) return Promise.resolve(proc.exitCode);
      return new Promise((resolve) => {
        const timer = setTimeout(() => proc.kill('SIGKILL'), timeoutMs);
        proc.once('exit', (code) => {
          clearTimeout(timer);
          resolve(code);
        });
        proc.kill(signal);
      });
    },
  };
}

/**
 * A temporary state directory and the processes that write into it, torn down together when the test ends:
 * every process passed to `own` is killed (the newest first), and only then is the directory removed.
 * node:test runs `after` hooks in the order they were added, so removing the directory in a hook added before
 * a process's own stop hook raced the live process (ENOTEMPTY), and the failed hook left the process running
 * past the test.
 */
export async function stateDirFor(t: TestContext, prefix: string): Promise<{ dir: string; own(child: Child): Child }> {
  const dir = await mkdtemp(join(tmpdir(), prefix));
  const owned: Child[] = [];
  t.after(async () => {
    for (const child of owned.reverse()) await child.stop('SIGKILL');
    await rm(dir, { recursive: true, force: true });
  });
  return {
    dir,
    own(child) {
      owned.push(child);
      return child;
    },
  };
}
