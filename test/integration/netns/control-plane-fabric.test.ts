// netns mode's control plane for pods: `l4mesh control-plane --fabric-netns` also serves its HTTP API and
// its gRPC/TLS port on 198.18.0.1 inside the fabric namespace, and a pod of a node reaches both through
// its node (the fabric routes back to the node's pod subnet); its loopback listeners keep working.
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { after, before, describe, it } from 'node:test';
import { CONTROL_PLANE_SERVER_NAME } from '../../../src/config/mesh-constants.js';
import { rootCertFile } from '../../../src/config/state-layout.js';
import { NetnsTopology } from '../../../src/dataplane/capture/netns/topology.js';
import { eventually } from '../../support/mesh.js';
import { netnsSkipReason, runInNetns, uniqueTestPrefix } from '../../support/netns.js';
import { cliCommand } from '../../support/processes.js';
import { cliMesh, type CliMesh } from '../cli/cli-fixture.js';

const skip = netnsSkipReason({ addon: true, commands: ['curl'] });
/** Minting a CA and a serving certificate on a loaded 2-core box. */
const READY_TIMEOUT_MS = 60_000;

/** Run inside the pod: a TLS handshake as the proxies make it (istiod's name, ALPN h2), checked against the mesh root. */
const TLS_CLIENT = [
  'const tls = require("node:tls"); const fs = require("node:fs");',
  'const [host, port, name, ca] = process.argv.slice(1);',
  's = tls.connect({ host, port: Number(port), servername: name, ALPNProtocols: ["h2"], ca: fs.readFileSync(ca) }, () => {',
  '  process.stdout.write(`${s.alpnProtocol} ${s.authorized} ${s.localAddress}`); s.end(); });',
  's.on("error", (e) => { process.stdout.write(`error ${e.code}`); });',
].join('\n');

describe('control plane listening in the fabric namespace', { skip, timeout: 180_000 }, () => {
  const prefix = uniqueTestPrefix();
  const topology = new NetnsTopology(prefix);
  let mesh: CliMesh;
  let cp: ChildProcess | undefined;
  let log = '';
  let podNetns = '';

  before(async () => {
    mesh = await cliMesh();
    await topology.createFabric();
    await topology.addNode('node-1', 1);
    podNetns = (await topology.addPod({ node: 'node-1', nodeIndex: 1, namespace: 'default', pod: 'waypoint', host: 6 })).netns;
    const cmd = cliCommand(['control-plane', '--state-dir', mesh.stateDir, '--address', `127.${mesh.base}.0.254`, '--fabric-netns', topology.fabricName()]);
    cp = spawn(cmd.command, cmd.args, { stdio: ['ignore', 'pipe', 'pipe'] });
    cp.stdout!.on('data', (b: Buffer) => (log += b));
    cp.stderr!.on('data', (b: Buffer) => (log += b));
    await eventually(async () => {
      if (cp!.exitCode !== null) throw new Error(`control plane exited ${cp!.exitCode}:\n${log}`);
      return (await fetch(`http://127.${mesh.base}.0.254:15014/ready`).catch(() => undefined))?.status === 200;
    }, READY_TIMEOUT_MS, 'control plane ready');
  });

  after(async () => {
    if (cp && cp.exitCode === null) {
      const exited = new Promise((r) => cp!.once('exit', r));
      cp.kill('SIGTERM');
      await exited;
    }
    await topology.destroy();
    await mesh?.cleanup();
  });

  it('a pod reaches the HTTP API and the gRPC TLS port on 198.18.0.1; the host keeps its loopback ones', async () => {
    assert.equal(await runInNetns(podNetns, 'curl', ['-sS', '--max-time', '20', 'http://198.18.0.1:15014/ready']), 'ready\n');
    // The proxies' handshake: istiod's name, ALPN h2, a chain the mesh root verifies; the pod's own address.
    assert.equal(await runInNetns(podNetns, process.execPath, ['-e', TLS_CLIENT, '198.18.0.1', '15012', CONTROL_PLANE_SERVER_NAME, rootCertFile(mesh.stateDir)]), 'h2 true 198.18.1.6');
    assert.equal(await (await fetch(`http://127.${mesh.base}.0.254:15014/ready`)).text(), 'ready\n');
    assert.ok(log.includes(`serving pods in the fabric namespace too\tnetns="${topology.fabricName()}" xds="198.18.0.1:15012" http="198.18.0.1:15014"\n`), log);
  });
});
