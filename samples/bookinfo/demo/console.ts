// Starts the mesh console (`l4mesh dashboard`) beside the demo and hands back its URL; the demo stops it on exit.
import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { packageRoot } from '../../../src/config/paths.js';

/** The console prints its URL once listening; a loaded machine may take a few seconds to load it. */
const CONSOLE_START_TIMEOUT_MS = 20_000;

export interface DemoConsole {
  /** The URL, or undefined with what the console said instead (a taken port, say). */
  url: string | undefined;
  output: string;
  close(): void;
}

export async function startConsole(stateDir: string, port: string | undefined): Promise<DemoConsole> {
  const args = [join(packageRoot(), 'bin', 'l4mesh'), 'dashboard', '--state-dir', stateDir, ...(port !== undefined ? ['--port', port] : [])];
  const child: ChildProcess = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout!.on('data', (b: Buffer) => (output += b));
  child.stderr!.on('data', (b: Buffer) => (output += b));
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  const deadline = Date.now() + CONSOLE_START_TIMEOUT_MS;
  let url: string | undefined;
  while (!(url = /l4mesh console: (\S+)/.exec(output)?.[1]) && Date.now() < deadline && child.exitCode === null) {
    await Promise.race([exited, new Promise((r) => setTimeout(r, 100))]);
  }
  return {
    url,
    output: output.trim(),
    close: () => {
      if (child.exitCode === null) child.kill('SIGTERM');
    },
  };
}
