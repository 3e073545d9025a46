import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Registry } from '../../../src/controlplane/registry/registry.js';
import { emptyMatch } from '../../../src/controlplane/registry/authorization.js';
import type { AuthorizationMatch, MeshAuthorization } from '../../../src/api/mesh.js';
import type { Resource } from '../../../src/api/types.js';
import { FakeInput, pod } from './fake-input.js';

const ap = (name: string, namespace: string, spec: Record<string, unknown>): Resource => ({
  apiVersion: 'security.istio.io/v1',
  kind: 'AuthorizationPolicy',
  metadata: { name, namespace },
  spec,
});
const match = (fields: Partial<AuthorizationMatch>): AuthorizationMatch => ({ ...emptyMatch(), ...fields });

function policies(resources: Resource[]): { reg: Registry; get: (key: string) => MeshAuthorization | undefined } {
  const reg = new Registry(new FakeInput(resources));
  return { reg, get: (key) => reg.current().authorizations.get(key) };
}

test('ALLOW with sources and ports: one clause per from/to list, wildcards become prefix/suffix/presence', () => {
  const { reg, get } = policies([
    ap('ratings-viewer', 'default', {
      selector: { matchLabels: { app: 'ratings' } },
      action: 'ALLOW',
      rules: [
        {
          from: [
            { source: { principals: ['cluster.local/ns/default/sa/bookinfo-reviews', 'cluster.local/ns/default/*', '*/sa/admin'] } },
            { source: { namespaces: ['*'], notPrincipals: ['cluster.local/ns/default/sa/blocked'], ipBlocks: ['10.0.0.0/8', '192.168.1.1'], notIpBlocks: ['10.1.0.0/16'] } },
          ],
          to: [{ operation: { ports: ['9080', '9443'] } }, { operation: { notPorts: ['15000'] } }],
        },
      ],
    }),
    pod('ratings-1', 'default', { ip: '127.10.0.1', labels: { app: 'ratings' } }),
    pod('reviews-1', 'default', { ip: '127.10.0.2', labels: { app: 'reviews' } }),
  ]);
  assert.deepStrictEqual(get('default/ratings-viewer'), {
    name: 'ratings-viewer',
    namespace: 'default',
    scope: 'WORKLOAD_SELECTOR',
    action: 'ALLOW',
    rules: [
      {
        clauses: [
          {
            matches: [
              match({ principals: [{ exact: 'cluster.local/ns/default/sa/bookinfo-reviews' }, { prefix: 'cluster.local/ns/default/' }, { suffix: '/sa/admin' }] }),
              match({
                namespaces: [{ presence: true }],
                notPrincipals: [{ exact: 'cluster.local/ns/default/sa/blocked' }],
                sourceIps: ['10.0.0.0/8', '192.168.1.1/32'],
                notSourceIps: ['10.1.0.0/16'],
              }),
            ],
          },
          { matches: [match({ destinationPorts: [9080, 9443] }), match({ notDestinationPorts: [15000] })] },
        ],
      },
    ],
  });
  const ws = reg.current().workloads;
  assert.deepStrictEqual(ws.get('Kubernetes//Pod/default/ratings-1')!.authorizationPolicies, ['default/ratings-viewer']);
  assert.deepStrictEqual(ws.get('Kubernetes//Pod/default/reviews-1')!.authorizationPolicies, []);
  reg.close();
});

test('scope: root namespace without selector is GLOBAL, other namespaces NAMESPACE; action defaults to ALLOW', () => {
  const { reg, get } = policies([
    ap('deny-legacy', 'istio-system', { action: 'DENY', rules: [{ from: [{ source: { namespaces: ['legacy'] } }] }] }),
    ap('allow-all', 'default', { rules: [{}] }),
    ap('allow-nothing', 'default', {}),
  ]);
  assert.deepStrictEqual(get('istio-system/deny-legacy'), {
    name: 'deny-legacy',
    namespace: 'istio-system',
    scope: 'GLOBAL',
    action: 'DENY',
    rules: [{ clauses: [{ matches: [match({ namespaces: [{ exact: 'legacy' }] })] }] }],
  });
  // An empty rule matches everything; a policy with no rules matches nothing (ALLOW: deny all).
  assert.deepStrictEqual(get('default/allow-all'), { name: 'allow-all', namespace: 'default', scope: 'NAMESPACE', action: 'ALLOW', rules: [{ clauses: [] }] });
  assert.deepStrictEqual(get('default/allow-nothing'), { name: 'allow-nothing', namespace: 'default', scope: 'NAMESPACE', action: 'ALLOW', rules: [] });
  reg.close();
});

test('HTTP-only attributes: an ALLOW rule using them is dropped, a DENY rule keeps its L4 part', () => {
  const l7Rules = [
    { from: [{ source: { principals: ['cluster.local/ns/default/sa/web'] } }], to: [{ operation: { methods: ['GET'], paths: ['/admin*'] } }] },
    { from: [{ source: { namespaces: ['ops'] } }], to: [{ operation: { ports: ['8080'] } }] },
    { when: [{ key: 'request.headers[x-user]', values: ['bob'] }] },
  ];
  const { reg, get } = policies([ap('allow-l7', 'default', { action: 'ALLOW', rules: l7Rules }), ap('deny-l7', 'default', { action: 'DENY', rules: l7Rules })]);
  const l4Rule = { clauses: [{ matches: [match({ namespaces: [{ exact: 'ops' }] })] }, { matches: [match({ destinationPorts: [8080] })] }] };
  assert.deepStrictEqual(get('default/allow-l7')!.rules, [l4Rule]);
  assert.deepStrictEqual(get('default/deny-l7')!.rules, [
    { clauses: [{ matches: [match({ principals: [{ exact: 'cluster.local/ns/default/sa/web' }] })] }] },
    l4Rule,
    { clauses: [] },
  ]);
  const sources = (reg.registryz() as { policySources: Array<{ name: string; notes: string[] }> }).policySources;
  assert.deepStrictEqual(sources.find((p) => p.name === 'allow-l7')!.notes, [
    'rules[0] dropped: it uses HTTP attributes (methods, paths) that cannot match at L4; use a waypoint to enforce them',
    'rules[2] dropped: it uses HTTP attributes (request.headers[x-user]) that cannot match at L4; use a waypoint to enforce them',
  ]);
  reg.close();
});

test('L4 when conditions become clauses; AUDIT, CUSTOM and targetRef policies are listed in registryz but not converted', () => {
  const { reg, get } = policies([
    ap('when-l4', 'default', {
      action: 'DENY',
      rules: [{ when: [{ key: 'source.ip', values: ['10.0.0.1'] }, { key: 'destination.port', notValues: ['22'] }, { key: 'source.principal', values: ['*'] }] }],
    }),
    ap('audit', 'default', { action: 'AUDIT', rules: [{}] }),
    ap('ext', 'default', { action: 'CUSTOM', provider: { name: 'opa' }, rules: [{}] }),
    ap('at-waypoint', 'default', { targetRefs: [{ kind: 'Service', group: '', name: 'reviews' }], rules: [{}] }),
  ]);
  assert.deepStrictEqual(get('default/when-l4')!.rules, [
    {
      clauses: [
        { matches: [match({ sourceIps: ['10.0.0.1/32'] })] },
        { matches: [match({ notDestinationPorts: [22] })] },
        { matches: [match({ principals: [{ presence: true }] })] },
      ],
    },
  ]);
  assert.deepStrictEqual([...reg.current().authorizations.keys()], ['default/when-l4']);
  const sources = (reg.registryz() as { policySources: Array<Record<string, unknown>> }).policySources;
  assert.deepStrictEqual(
    sources.filter((p) => p['skipped']).map((p) => [p['name'], p['skipped']]),
    [
      ['audit', 'action AUDIT is not enforced at L4 by node proxies'],
      ['ext', 'action CUSTOM is not enforced at L4 by node proxies'],
      ['at-waypoint', 'targetRef policies apply at a waypoint, not at node proxies'],
    ],
  );
  reg.close();
});

test('a selector policy in the root namespace selects workloads in every namespace', () => {
  const { reg } = policies([
    ap('all-dbs', 'istio-system', { selector: { matchLabels: { tier: 'db' } }, action: 'DENY', rules: [{ from: [{ source: { notNamespaces: ['data'] } }] }] }),
    pod('pg-0', 'data', { ip: '127.10.0.1', labels: { tier: 'db' } }),
    pod('web-0', 'data', { ip: '127.10.0.2', labels: { tier: 'web' } }),
  ]);
  const ws = reg.current().workloads;
  assert.deepStrictEqual(ws.get('Kubernetes//Pod/data/pg-0')!.authorizationPolicies, ['istio-system/all-dbs']);
  assert.deepStrictEqual(ws.get('Kubernetes//Pod/data/web-0')!.authorizationPolicies, []);
  assert.equal(reg.current().authorizations.get('istio-system/all-dbs')!.scope, 'WORKLOAD_SELECTOR');
  reg.close();
});
