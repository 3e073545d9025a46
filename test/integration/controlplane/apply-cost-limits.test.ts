// The control plane as a process keeps answering /ready and the CA while a maximal /apply is parsed,
// refuses that body with its limit's status and code, applies nothing of it, and still applies normal manifests.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { request } from 'node:http';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startCli } from '../../support/processes.js';
import { podYaml } from '../../support/mesh.js';
import { CaClient } from '../../../src/identity/ca-client.js';
import { NodeTokenStore } from '../../../src/controlplane/ca/node-tokens.js';
import { MAX_BODY_BYTES } from '../../../src/controlplane/api/index.js';
import { ALIAS_BOMB, ALIAS_BOMB_MESSAGE, DEEP_NESTING, DEEP_NESTING_MESSAGE, TOO_MANY_DOCUMENTS_MESSAGE, manyTinyDocuments } from '../../unit/api/hostile-manifests.js';

const ADDRESS = '127.247.0.254';
const POD_IDENTITY = 'spiffe://cluster.local/ns/default/sa/ratings';
/**
 * The issue asks for 100 ms. Measured during the parse on a 2-core box at load average ~20: medians 30-53 ms,
 * the slowest answer 62-268 ms (the first one, while the body's last bytes arrive); before the fix the
 * slowest was 222,583 ms. So: the median under 100 ms, and no answer over 500 ms.
 */
const READY_MAX_MS = 500;
const READY_MEDIAN_MS = 100;
/** A CA answer includes key generation in this process and signing there; 1 s is far below the 45 s stall. */
const CA_MAX_MS = 1_000;

interface Answer {
  status: number;
  json: any; // eslint-disable-line @typescript-eslint/no-explicit-any
}

/** POSTs `body`; `sent` resolves once the last byte is handed to the socket, `answer` with the response. */
function post(path: string, token: string, body: Buffer | string): { sent: Promise<void>; answer: Promise<Answer> } {
  let onSent!: () => void;
  const sent = new Promise<void>((resolve) => (onSent = resolve));
  const answer = new Promise<Answer>((resolve, reject) => {
    const req = request(
      { host: ADDRESS, port: 15014, method: 'POST', path, agent: false, headers: { authorization: `Bearer ${token}`, 'content-length': Buffer.byteLength(body) } },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, json: JSON.parse(Buffer.concat(chunks).toString('utf8')) }));
      },
    );
    req.on('error', reject);
    req.on('finish', onSent);
    req.end(body);
  });
  return { sent, answer };
}

async function timedReady(): Promise<number> {
  const started = performance.now();
  const res = await fetch(`http://${ADDRESS}:15014/ready`);
  await res.arrayBuffer();
  assert.equal(res.status, 200);
  return performance.now() - started;
}

test('a maximal /apply is parsed off the event loop: /ready and the CA answer meanwhile, then 413 and nothing applied', { timeout: 240_000 }, async (t) => {
  const stateDir = await mkdtemp(join(tmpdir(), 'l4mesh-cp-limits-'));
  const cp = startCli(['control-plane', '--state-dir', stateDir, '--address', ADDRESS, '--vip-range', '127.247.3.0/24']);
  let ca: CaClient | undefined;
  try {
    await cp.waitFor(/control plane ready/, 60_000);
    const token = (await readFile(join(stateDir, 'admin.token'), 'utf8')).trim();
    const rootCertPem = await readFile(join(stateDir, 'ca', 'root-cert.pem'), 'utf8');
    const pod = podYaml({ name: 'ratings-v1-1', ip: '127.247.1.5', node: 'node-1', labels: { app: 'ratings' }, serviceAccount: 'ratings' });
    const first = await post('/apply', token, pod).answer;
    assert.deepEqual(first, { status: 200, json: { results: [{ kind: 'Pod', namespace: 'default', name: 'ratings-v1-1', action: 'created' }] } });
    const listPods = async () => (await (await fetch(`http://${ADDRESS}:15014/api/v1/pods`, { headers: { authorization: `Bearer ${token}` } })).json()) as { metadata: { resourceVersion: string }; items: unknown[] };
    const before = await listPods();

    ca = new CaClient({ address: `${ADDRESS}:15012`, rootCertPem, token: await (await NodeTokenStore.open(stateDir)).create('node-1'), serverName: 'istiod.istio-system.svc' });
    await ca.requestCertificate(POD_IDENTITY); // connects the channel, so the timed call below measures an answer
    await timedReady();

    const body = manyTinyDocuments();
    assert.ok(body.length <= MAX_BODY_BYTES);
    const apply = post('/apply', token, body);
    let answered = false;
    void apply.answer.then(() => (answered = true), () => (answered = true));
    await apply.sent;

    const latencies: number[] = [];
    for (let i = 0; i < 20; i++) latencies.push(await timedReady());
    const caStarted = performance.now();
    const cert = await ca.requestCertificate(POD_IDENTITY);
    const caMs = performance.now() - caStarted;
    const stillParsing = !answered;

    const refusal = await apply.answer;
    const sorted = [...latencies].sort((a, b) => a - b);
    const median = (sorted[9]! + sorted[10]!) / 2;
    t.diagnostic(`/ready during the parse: median ${median.toFixed(1)} ms, max ${sorted[19]!.toFixed(1)} ms; CA ${caMs.toFixed(0)} ms`);
    assert.equal(stillParsing, true, 'the 20 /ready answers and the CA call came while the body was still being parsed');
    assert.ok(sorted[19]! < READY_MAX_MS, `slowest /ready took ${sorted[19]!.toFixed(1)} ms: ${latencies.map((l) => l.toFixed(0)).join(' ')}`);
    assert.ok(median < READY_MEDIAN_MS, `median /ready took ${median.toFixed(1)} ms`);
    assert.equal(cert.identity, POD_IDENTITY);
    assert.ok(caMs < CA_MAX_MS, `the CA took ${caMs.toFixed(0)} ms`);
    assert.deepEqual(refusal, { status: 413, json: { error: { code: 'L4MESH_ERR_TOO_MANY_DOCUMENTS', message: TOO_MANY_DOCUMENTS_MESSAGE } } });

    // Nothing of it was applied: the store's version is where it was.
    const after = await listPods();
    assert.equal(after.metadata.resourceVersion, before.metadata.resourceVersion);
    assert.equal(after.items.length, 1);

    // Hostile small bodies: 400 with the reason, never 500.
    assert.deepEqual(await post('/apply', token, ALIAS_BOMB).answer, { status: 400, json: { error: { code: 'L4MESH_ERR_YAML_TOO_MANY_ALIASES', message: ALIAS_BOMB_MESSAGE } } });
    assert.deepEqual(await post('/apply', token, DEEP_NESTING).answer, { status: 400, json: { error: { code: 'L4MESH_ERR_YAML_TOO_DEEP', message: DEEP_NESTING_MESSAGE } } });

    // Normal manifests: the same errors as before (document number, field path), then applied.
    const badPort = 'apiVersion: v1\nkind: Service\nmetadata:\n  name: ratings\nspec:\n  ports:\n  - port: 9080\n---\napiVersion: v1\nkind: Service\nmetadata:\n  name: reviews\nspec:\n  ports:\n  - port: "http"\n';
    const invalid = await post('/apply', token, badPort).answer;
    assert.equal(invalid.status, 400);
    assert.equal(invalid.json.error.code, 'L4MESH_ERR_INVALID_RESOURCE');
    assert.equal(invalid.json.error.path, 'spec.ports[0].port');
    assert.match(invalid.json.error.message, /^document 2: Service\/reviews: spec\.ports\[0\]\.port: /);
    const good = await post('/apply', token, badPort.replace('"http"', '9080')).answer;
    assert.deepEqual(good, {
      status: 200,
      json: {
        results: [
          { kind: 'Service', namespace: 'default', name: 'ratings', action: 'created' },
          { kind: 'Service', namespace: 'default', name: 'reviews', action: 'created' },
        ],
      },
    });
  } finally {
    ca?.close();
    await cp.stop();
    await rm(stateDir, { recursive: true, force: true });
  }
});
