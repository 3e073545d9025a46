// Under a root mesh, local-mode pods run as an unprivileged user with a clean environment: a pod that
// tries to read the state dir's admin.token and ca/root-key.pem gets EACCES, runs as uid 65534 (or the
// Deployment's securityContext.runAsUser/runAsGroup), and sees no mesh variables but L4MESH_PACKAGE_ROOT (set for
// $(VAR) expansion of sample commands).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { eventually } from '../../support/mesh.js';
import { podLogFile } from '../../../src/localrun/pod-processes.js';
import { cliMesh, parseTable } from './cli-fixture.js';

/** The pod's script: who it is, whether it can read the two secrets, and its whole environment. */
function probe(stateDir: string): string {
  return [
    'echo "uid=$(id -u) gid=$(id -g)"',
    `cat ${stateDir}/admin.token >/dev/null 2>&1 && echo "admin.token: READ" || echo "admin.token: $(cat ${stateDir}/admin.token 2>&1 | sed 's/.*: //')"`,
    `cat ${stateDir}/ca/root-key.pem >/dev/null 2>&1 && echo "root-key.pem: READ" || echo "root-key.pem: $(cat ${stateDir}/ca/root-key.pem 2>&1 | sed 's/.*: //')"`,
    'echo "--- env"',
    'env | sort',
    'echo "--- end"',
    'exec sleep 600',
  ].join('; ');
}

function deployment(name: string, script: string, securityContext = ''): string {
  return `apiVersion: apps/v1
kind: Deployment
metadata:
  name: ${name}
spec:
  selector:
    matchLabels:
      app: ${name}
  template:
    metadata:
      labels:
        app: ${name}
    spec:${securityContext}
      containers:
      - name: probe
        image: local/probe
        command: ["sh", "-c", ${JSON.stringify(script)}]
        env:
        - name: OWN_VAR
          value: from-the-manifest
---
`;
}

async function podOutput(stateDir: string, podName: string): Promise<string> {
  return eventually(async () => {
    const text = await readFile(podLogFile(stateDir, 'default', podName, 'probe'), 'utf8');
    return text.includes('--- end') ? text : undefined;
  }, 60_000, `the output of ${podName}`);
}

test('a root mesh runs pods as an unprivileged user with a clean environment', { timeout: 240_000, skip: process.getuid?.() !== 0 ? 'needs root' : false }, async () => {
  const mesh = await cliMesh();
  try {
    const up = await mesh.run(['up', '--nodes', '1'], 120_000);
    assert.equal(up.code, 0, up.stdout + up.stderr);
    assert.equal(up.stdout.split('\n').filter((l) => l.includes('not a security boundary')).length, 1);

    const file = join(mesh.manifestDir, 'probe.yaml');
    await writeFile(
      file,
      deployment('probe-default', probe(mesh.stateDir)) + deployment('probe-custom', probe(mesh.stateDir), '\n      securityContext:\n        runAsUser: 4321\n        runAsGroup: 4322'),
    );
    const applied = await mesh.run(['apply', '-f', file]);
    assert.equal(applied.code, 0, applied.stderr);

    const rows = await eventually(async () => {
      const r = await mesh.run(['get', 'pods']);
      const all = parseTable(r.stdout, ['NAME', 'READY', 'STATUS', 'RESTARTS', 'AGE']);
      return all.length === 2 && all.every((p) => p['STATUS'] === 'Running') ? all : undefined;
    }, 60_000, 'two pods Running');

    // The state dir and its secrets are owner-only.
    assert.equal((await stat(mesh.stateDir)).mode & 0o777, 0o700);
    assert.equal((await stat(join(mesh.stateDir, 'admin.token'))).mode & 0o777, 0o600);
    assert.equal((await stat(join(mesh.stateDir, 'ca'))).mode & 0o777, 0o700);
    assert.equal((await stat(join(mesh.stateDir, 'ca', 'root-key.pem'))).mode & 0o777, 0o600);

    for (const [prefix, ids] of [['probe-default', 'uid=65534 gid=65534'], ['probe-custom', 'uid=4321 gid=4322']] as const) {
      const pod = rows.find((p) => p['NAME']!.startsWith(`${prefix}-`))!;
      const out = await podOutput(mesh.stateDir, pod['NAME']!);
      const lines = out.split('\n');
      assert.equal(lines[0], ids);
      assert.equal(lines[1], 'admin.token: Permission denied');
      assert.equal(lines[2], 'root-key.pem: Permission denied');
      const env = out.slice(out.indexOf('--- env\n') + 8, out.indexOf('--- end')).trim().split('\n');
      const names = env.map((l) => l.slice(0, l.indexOf('='))).filter((n) => n !== 'PWD' && n !== 'SHLVL' && n !== '_');
      // Of the mesh's variables, only the package root the runtime sets for $(L4MESH_PACKAGE_ROOT) in commands.
      assert.deepEqual(names.filter((n) => n.startsWith('L4MESH')), ['L4MESH_PACKAGE_ROOT']);
      assert.ok(env.includes('OWN_VAR=from-the-manifest'), env.join('\n'));
      assert.ok(env.includes(`POD_NAME=${pod['NAME']}`), env.join('\n'));
      // Only the base (PATH, HOME, LANG), the pod's own env and the Kubernetes-style variables.
      const allowed = new Set(['PATH', 'HOME', 'LANG', 'L4MESH_PACKAGE_ROOT', 'OWN_VAR', 'POD_NAME', 'POD_NAMESPACE', 'POD_IP', 'INSTANCE_IP', 'SERVICE_ACCOUNT', 'NODE_NAME']);
      assert.deepEqual(names.filter((n) => !allowed.has(n) && !/_SERVICE_(HOST|PORT)/.test(n) && !/_PORT(_\d+_TCP(_PROTO|_PORT|_ADDR)?)?$/.test(n)), []);
    }
  } finally {
    await mesh.run(['down']).catch(() => undefined);
    await mesh.cleanup();
  }
});
