// Every path under the state dir comes from src/config/state-layout.ts, and each is where l4mesh has
// always kept it (a moved file would lose a running mesh's tokens, CA or logs on upgrade).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { packageRoot } from '../../../src/config/paths.js';
import * as layout from '../../../src/config/state-layout.js';

test('each state path is the one earlier versions wrote', () => {
  const s = '/state';
  assert.deepEqual(
    {
      layout: layout.layoutFile(s),
      pids: layout.pidsFile(s),
      adminToken: layout.adminTokenPath(s),
      nodeTokens: layout.nodeTokensFile(s),
      vips: layout.vipsFile(s),
      resources: layout.resourcesDir(s),
      ca: layout.caDir(s),
      rootCert: layout.rootCertFile(s),
      rootKey: layout.rootKeyFile(s),
      tokens: layout.tokensDir(s),
      nodeToken: layout.nodeTokenFile(s, 'node-1'),
      logs: layout.logsDir(s),
      componentLog: layout.componentLogFile(s, 'ztunnel-node-1'),
      accessLog: layout.accessLogFile(s, 'ztunnel-node-1'),
      capture: layout.captureBlocksFile(s, 'sidecar-default-ratings-1'),
      adminTokens: layout.proxyAdminTokensDir(s),
      proxyAdminToken: layout.proxyAdminTokenPath(s, '127.0.10.1'),
      runtime: layout.runtimeDir(s),
      podProcesses: layout.podProcessesFile(s),
      podIps: layout.podIpsFile(s),
      pod: layout.podDir(s, 'default', 'ratings-1'),
      podLog: layout.podLogFile(s, 'default', 'ratings-1', 'app'),
      podEvents: layout.podEventsFile(s, 'default', 'ratings-1'),
      deploymentEvents: layout.deploymentEventsFile(s, 'default', 'ratings'),
      prometheus: layout.prometheusDir(s),
      etcdMember: layout.etcdDataDir(s, 'etcd-0'),
    },
    {
      layout: '/state/layout.json',
      pids: '/state/pids.json',
      adminToken: '/state/admin.token',
      nodeTokens: '/state/node-tokens.json',
      vips: '/state/vips.json',
      resources: '/state/resources',
      ca: '/state/ca',
      rootCert: '/state/ca/root-cert.pem',
      rootKey: '/state/ca/root-key.pem',
      tokens: '/state/tokens',
      nodeToken: '/state/tokens/node-1.token',
      logs: '/state/logs',
      componentLog: '/state/logs/ztunnel-node-1.log',
      accessLog: '/state/logs/ztunnel-node-1.access.log',
      capture: '/state/capture/sidecar-default-ratings-1.json',
      adminTokens: '/state/admin-tokens',
      proxyAdminToken: '/state/admin-tokens/127.0.10.1.token',
      runtime: '/state/runtime',
      podProcesses: '/state/runtime/processes.json',
      podIps: '/state/runtime/pod-ips.json',
      pod: '/state/pods/default/ratings-1',
      podLog: '/state/pods/default/ratings-1/app.log',
      podEvents: '/state/pods/default/ratings-1/events.jsonl',
      deploymentEvents: '/state/deployments/default/ratings/events.jsonl',
      prometheus: '/state/prometheus',
      etcdMember: '/state/etcd/etcd-0',
    },
  );
});

test('help texts show defaults with the same functions: <state-dir>/tokens/<node>.token', () => {
  assert.equal(layout.nodeTokenFile(layout.STATE_DIR_PLACEHOLDER, '<node>'), '<state-dir>/tokens/<node>.token');
  assert.equal(layout.rootCertFile(layout.STATE_DIR_PLACEHOLDER), '<state-dir>/ca/root-cert.pem');
});

function filesUnder(dir: string): string[] {
  return readdirSync(dir)
    .sort()
    .flatMap((name) => (statSync(join(dir, name)).isDirectory() ? filesUnder(join(dir, name)) : [join(dir, name)]));
}

test('no module but state-layout.ts joins a name onto the state dir', () => {
  const root = packageRoot();
  // `join(stateDir, 'x')`, `join(config.stateDir, …)`, `${stateDir}/x`: a path under the state dir built by hand.
  const byHand = /join\([^)]*\bstateDir\b\s*,|\$\{[\w.]*stateDir\}\//;
  const offending = filesUnder(join(root, 'src'))
    .filter((path) => path.endsWith('.ts') && relative(root, path) !== join('src', 'config', 'state-layout.ts'))
    .flatMap((path) =>
      readFileSync(path, 'utf8')
        .split('\n')
        .flatMap((line, i) => (byHand.test(line) ? [`${relative(root, path)}:${i + 1}: ${line.trim()}`] : [])),
    );
  assert.deepEqual(offending, []);
});
