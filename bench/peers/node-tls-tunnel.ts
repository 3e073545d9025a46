// The floor of any Node.js TLS proxy: a mutual-TLS 1.3 tunnel written in plain node:tls, one process per
// side, bytes piped with no framing, policy, telemetry or pooling (a handshake per connection, resumed from
// the last session as haproxy resumes its own). Run as `node node-tls-tunnel.js client|server CONFIG_JSON`;
// the bench compares its CPU per byte with the mesh's to tell Node's own TLS cost from ours.
import { readFileSync } from 'node:fs';
import { connect, createServer, type Socket } from 'node:net';
import { connect as tlsConnect, createServer as createTlsServer, type TLSSocket } from 'node:tls';
import type { PeerPki } from './pki.js';
import type { Forward } from './tunnels.js';

interface Config {
  pki: PeerPki;
  forwards: Forward[];
}

/** Pipes both ways; either side's error or close ends both. */
function join(a: Socket | TLSSocket, b: Socket | TLSSocket): void {
  a.pipe(b);
  b.pipe(a);
  const end = () => {
    a.destroy();
    b.destroy();
  };
  a.once('error', end).once('close', end);
  b.once('error', end).once('close', end);
}

function client(config: Config): void {
  const key = readFileSync(config.pki.clientKey);
  const cert = readFileSync(config.pki.clientCert);
  const ca = readFileSync(config.pki.ca);
  for (const f of config.forwards) {
    let session: Buffer | undefined;
    createServer({ noDelay: true }, (socket) => {
      const tls = tlsConnect({ host: f.tls.host, port: f.tls.port, key, cert, ca, servername: 'bench-server', minVersion: 'TLSv1.3', ...(session ? { session } : {}) });
      tls.setNoDelay(true);
      tls.on('session', (s: Buffer) => (session = s));
      join(socket, tls);
    }).listen(f.listen.port, f.listen.host, () => process.stdout.write(`listening ${f.listen.host}:${f.listen.port}\n`));
  }
}

function server(config: Config): void {
  const options = { key: readFileSync(config.pki.serverKey), cert: readFileSync(config.pki.serverCert), ca: readFileSync(config.pki.ca), requestCert: true, rejectUnauthorized: true, minVersion: 'TLSv1.3' as const };
  for (const f of config.forwards) {
    createTlsServer(options, (tls) => {
      tls.setNoDelay(true);
      join(tls, connect({ host: f.backend.host, port: f.backend.port, noDelay: true }));
    }).listen(f.tls.port, f.tls.host, () => process.stdout.write(`listening ${f.tls.host}:${f.tls.port}\n`));
  }
}

const [role, json] = process.argv.slice(2);
if ((role !== 'client' && role !== 'server') || !json) {
  process.stderr.write('usage: node-tls-tunnel client|server CONFIG_JSON\n');
  process.exit(2);
}
(role === 'client' ? client : server)(JSON.parse(json) as Config);
