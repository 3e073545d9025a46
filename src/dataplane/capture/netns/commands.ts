// Runs the system tools netns mode drives (ip, iptables-restore, sh inside a namespace) and turns a
// failure into an L4meshError that names the command and what it printed.
import { execFile } from 'node:child_process';
import { L4meshError } from '../../../errors/index.js';

/** One ip/iptables call takes milliseconds; this only bounds a wedged one. */
const COMMAND_TIMEOUT_MS = 30_000;
/** Output of these commands is small (a netns list, a link list); more means something is wrong. */
const COMMAND_MAX_BUFFER = 4 * 1024 * 1024;

/** Runs `command args...`, resolving with stdout; `input` is written to its stdin (iptables-restore). */
export function runCommand(command: string, args: readonly string[], input?: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = execFile(command, args, { encoding: 'utf8', timeout: COMMAND_TIMEOUT_MS, maxBuffer: COMMAND_MAX_BUFFER },
      (err, stdout, stderr) => {
        if (!err) return resolve(stdout);
        const e = err as NodeJS.ErrnoException;
        const why = e.code === 'ENOENT'
          ? `${command} is not installed (apt-get install -y ${command === 'ip' ? 'iproute2' : 'iptables'})`
          : stderr.trim() || e.message;
        reject(new L4meshError('L4MESH_ERR_NETNS', `${command} ${args.join(' ')}: ${why}`, { cause: err }));
      });
    if (input !== undefined) child.stdin?.end(input);
  });
}

/** `ip args...`. */
export function ipCmd(...args: string[]): Promise<string> {
  return runCommand('ip', args);
}

/** Runs a command inside namespace `netns` (`ip netns exec`). */
export function inNetnsCmd(netns: string, command: string, args: readonly string[], input?: string): Promise<string> {
  return runCommand('ip', ['netns', 'exec', netns, command, ...args], input);
}

/** Names of the network namespaces `ip netns list` shows. */
export async function listNetns(): Promise<string[]> {
  const out = await ipCmd('netns', 'list');
  return out.split('\n').map((l) => l.trim().split(/\s+/)[0] ?? '').filter((n) => n.length > 0);
}
