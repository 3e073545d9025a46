// The TLS-tunnel peers as users would deploy them: a client-side proxy that originates mutual TLS 1.3
// and a server-side proxy that terminates it, one process each, both ports (echo and iperf) forwarded.
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { connect } from 'node:net';
import { fileURLToPath } from 'node:url';
import { run, startTool, type Tool } from '../proc.js';
import type { PeerPki } from './pki.js';
import { binaryOf } from './install.js';

export interface Forward {
  /** Where the client side listens. */
  listen: { host: string; port: number };
  /** Where the server side listens (the TLS hop). */
  tls: { host: string; port: number };
  /** The backend the server side connects to. */
  backend: { host: string; port: number };
}

/** stunnel's per-connection threads get this stack; the default is the same, said here to be explicit. */
const STUNNEL_STACK_BYTES = 65536;

function stunnelGlobal(): string {
  return `foreground = yes\npid =\ndebug = 3\nstack = ${STUNNEL_STACK_BYTES}\nsocket = l:TCP_NODELAY=1\nsocket = r:TCP_NODELAY=1\n`;
}

export async function startStunnelPair(pki: PeerPki, forwards: Forward[]): Promise<Tool[]> {
  const bin = binaryOf('stunnel4')!;
  const tls = `CAfile = ${pki.ca}\nverifyChain = yes\nsslVersionMin = TLSv1.3\nsslVersionMax = TLSv1.3\n`;
  let client = stunnelGlobal();
  let server = stunnelGlobal();
  forwards.forEach((f, i) => {
    client += `[c${i}]\nclient = yes\naccept = ${f.listen.host}:${f.listen.port}\nconnect = ${f.tls.host}:${f.tls.port}\ncert = ${pki.clientCert}\nkey = ${pki.clientKey}\n${tls}`;
    server += `[s${i}]\naccept = ${f.tls.host}:${f.tls.port}\nconnect = ${f.backend.host}:${f.backend.port}\ncert = ${pki.serverCert}\nkey = ${pki.serverKey}\nrequireCert = yes\n${tls}`;
  });
  await writeFile(join(pki.dir, 'stunnel-client.conf'), client);
  await writeFile(join(pki.dir, 'stunnel-server.conf'), server);
  const s = startTool(bin, [join(pki.dir, 'stunnel-server.conf')]);
  const c = startTool(bin, [join(pki.dir, 'stunnel-client.conf')]);
  await waitListening([s, c], forwards.flatMap((f) => [f.listen, f.tls]));
  return [c, s];
}

/** Start-up is done when every listener accepts (neither tool says so on stdout at a quiet log level). */
async function waitListening(tools: Tool[], at: Array<{ host: string; port: number }>): Promise<void> {
  const deadline = Date.now() + 15_000;
  for (const a of at) {
    for (;;) {
      for (const t of tools) if (t.proc.exitCode !== null) throw new Error(`peer proxy exited (${t.proc.exitCode}):\n${t.output()}`);
      const ok = await new Promise<boolean>((resolve) => {
        const s = connect(a.port, a.host, () => {
          s.destroy();
          resolve(true);
        });
        s.on('error', () => resolve(false));
      });
      if (ok) break;
      if (Date.now() > deadline) throw new Error(`nothing listens on ${a.host}:${a.port} after 15 s:\n${tools.map((t) => t.output()).join('\n')}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }
}

/** haproxy needs 2 fds per connection and refuses to start above the 20,000-fd hard limit here; above the 9,500 idle connections measured. */
const HAPROXY_MAXCONN = 9_800;

export async function startHaproxyPair(pki: PeerPki, forwards: Forward[]): Promise<Tool[]> {
  const bin = binaryOf('haproxy')!;
  const head = `global\n  maxconn ${HAPROXY_MAXCONN}\ndefaults\n  mode tcp\n  timeout connect 5s\n  timeout client 1h\n  timeout server 1h\n  maxconn ${HAPROXY_MAXCONN}\n`;
  let client = head;
  let server = head;
  forwards.forEach((f, i) => {
    const tls = `ca-file ${pki.ca} verify required ssl-min-ver TLSv1.3 ssl-max-ver TLSv1.3`;
    client += `listen c${i}\n  bind ${f.listen.host}:${f.listen.port}\n  server s ${f.tls.host}:${f.tls.port} ssl crt ${pki.clientCombined} ${tls}\n`;
    server += `listen s${i}\n  bind ${f.tls.host}:${f.tls.port} ssl crt ${pki.serverCombined} ${tls}\n  server b ${f.backend.host}:${f.backend.port}\n`;
  });
  await writeFile(join(pki.dir, 'haproxy-client.cfg'), client);
  await writeFile(join(pki.dir, 'haproxy-server.cfg'), server);
  // Check both configurations first: a config error then reads as one, not as a missing listener.
  await run(bin, ['-c', '-f', join(pki.dir, 'haproxy-client.cfg')]);
  await run(bin, ['-c', '-f', join(pki.dir, 'haproxy-server.cfg')]);
  const s = startTool(bin, ['-db', '-f', join(pki.dir, 'haproxy-server.cfg')]);
  const c = startTool(bin, ['-db', '-f', join(pki.dir, 'haproxy-client.cfg')]);
  await waitListening([s, c], forwards.flatMap((f) => [f.listen, f.tls]));
  return [c, s];
}

/** The plain node:tls tunnel (node-tls-tunnel.ts): Node's own TLS cost with nothing of the mesh on top. */
export async function startNodeTlsPair(pki: PeerPki, forwards: Forward[]): Promise<Tool[]> {
  const file = fileURLToPath(new URL(import.meta.url.endsWith('.ts') ? './node-tls-tunnel.ts' : './node-tls-tunnel.js', import.meta.url));
  const script = file.endsWith('.ts') ? ['--import', 'tsx', file] : [file];
  const config = JSON.stringify({ pki, forwards });
  const s = startTool(process.execPath, [...script, 'server', config]);
  const c = startTool(process.execPath, [...script, 'client', config]);
  await waitListening([s, c], forwards.flatMap((f) => [f.listen, f.tls]));
  return [c, s];
}
