// Which user a local-mode container runs as and what environment it starts from (src/localrun/pod-user.ts).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { baseEnv, DEFAULT_PATH, firstClosedDir, isMeshComponent, podUser } from '../../../src/localrun/pod-user.js';

test('a root mesh runs containers as 65534:65534 by default', () => {
  assert.deepEqual(podUser({}, {}, 0), { user: { uid: 65534, gid: 65534 } });
});

test('a working directory nobody may enter: the default user gives way to the mesh\'s, an explicit runAsUser does not', () => {
  const top = mkdtempSync(join(tmpdir(), 'l4mesh-closed-'));
  try {
    const open = join(top, 'open');
    const inner = join(top, 'open', 'inner');
    mkdirSync(inner, { recursive: true });
    chmodSync(top, 0o755);
    chmodSync(open, 0o755);
    assert.equal(firstClosedDir(inner), undefined);
    assert.deepEqual(podUser({}, {}, 0, [inner]), { user: { uid: 65534, gid: 65534 } });
    chmodSync(open, 0o700);
    assert.equal(firstClosedDir(inner), open);
    assert.deepEqual(podUser({}, {}, 0, [top, inner]), {
      ignored: `running as the mesh's user (uid 0), not nobody (65534): ${open} cannot be entered by other users; move the files to a directory others may enter, or set securityContext.runAsUser`,
    });
    assert.deepEqual(podUser({ securityContext: { runAsUser: 4321 } }, {}, 0, [inner]), { user: { uid: 4321, gid: 65534 } });
  } finally {
    rmSync(top, { recursive: true, force: true });
  }
});

test('the container\'s runAsUser/runAsGroup override the pod\'s, field by field', () => {
  const pod = { securityContext: { runAsUser: 1000, runAsGroup: 2000 } };
  assert.deepEqual(podUser(pod, {}, 0), { user: { uid: 1000, gid: 2000 } });
  assert.deepEqual(podUser(pod, { securityContext: { runAsUser: 1001 } }, 0), { user: { uid: 1001, gid: 2000 } });
  assert.deepEqual(podUser({}, { securityContext: { runAsUser: 1002 } }, 0), { user: { uid: 1002, gid: 65534 } });
});

test('runAsUser 0 is an explicit choice; with runAsNonRoot it is refused', () => {
  assert.deepEqual(podUser({ securityContext: { runAsUser: 0 } }, {}, 0), { user: { uid: 0, gid: 0 } });
  assert.deepEqual(podUser({ securityContext: { runAsNonRoot: true } }, { securityContext: { runAsUser: 0 } }, 0), {
    problem: 'securityContext.runAsNonRoot is true but runAsUser is 0 (root); remove one of them',
  });
});

test('a mesh that is not root runs pods as itself and names an ignored runAsUser', () => {
  assert.deepEqual(podUser({}, {}, 1000), {});
  assert.deepEqual(podUser({ securityContext: { runAsUser: 1000 } }, {}, 1000), {});
  assert.deepEqual(podUser({ securityContext: { runAsUser: 4321 } }, {}, 1000), {
    ignored: 'securityContext.runAsUser 4321 is ignored: l4mesh runs as uid 1000, not root, so pods run as uid 1000',
  });
});

test('the base environment is PATH, HOME and LANG only', () => {
  const mesh = { PATH: '/opt/bin:/usr/bin', HOME: '/root', LANG: 'C.UTF-8', L4MESH_STATE_DIR: '/var/lib/l4mesh', AWS_SECRET_ACCESS_KEY: 'x' };
  assert.deepEqual(baseEnv(undefined, mesh), { PATH: '/opt/bin:/usr/bin', HOME: '/root', LANG: 'C.UTF-8' });
  // No PATH in the mesh's env: the container runtimes' default. uid 4321 has no passwd entry: HOME is "/".
  assert.deepEqual(baseEnv({ uid: 4321, gid: 4321 }, { HOME: '/root' }), { PATH: DEFAULT_PATH, HOME: '/' });
  assert.deepEqual(baseEnv({ uid: 4321, gid: 4321 }, { PATH: '/usr/bin' }), { PATH: '/usr/bin', HOME: '/' });
  // /root is owner-only: its directories leave another user's PATH (a lookup there would fail EACCES).
  assert.deepEqual(baseEnv({ uid: 4321, gid: 4321 }, { PATH: '/root/.pyenv/shims:/usr/bin' }), { PATH: '/usr/bin', HOME: '/' });
});

test('a waypoint pod (gateway.istio.io/managed) is a mesh component; an ordinary pod is not', () => {
  const pod = (labels: Record<string, string>) => ({ apiVersion: 'v1', kind: 'Pod', metadata: { name: 'p', labels } });
  assert.equal(isMeshComponent(pod({ 'gateway.istio.io/managed': 'istio.io-mesh-controller', 'gateway.networking.k8s.io/gateway-name': 'waypoint' })), true);
  assert.equal(isMeshComponent(pod({ app: 'ratings' })), false);
});
