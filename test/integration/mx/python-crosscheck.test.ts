// The exchange payload against an independent protobuf runtime (Debian's python3-protobuf): Python reads
// what we write, and we read what Python writes, and both sides see the same Struct.
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { packageRoot } from '../../../src/config/paths.js';
import type { TestSetup } from '../../support/test-setup.js';
import {
  decodeStructAny,
  encodeExchange,
  ExchangeReader,
  MX_HEADER_BYTES,
  MX_MAGIC,
  type JsonStruct,
  type PeerMetadata,
} from '../../../src/dataplane/mx/codec.js';

const SCRIPT = join(packageRoot(), 'test', 'support', 'python', 'mx_crosscheck.py');
const SCRIPT_TIMEOUT_MS = 30_000;
/** The interpreter and the google.protobuf check of `npm test`'s setup (npm's pretest), which installs python3-protobuf. */
const setup = (await import(pathToFileURL(join(packageRoot(), 'scripts', 'test-setup.mjs')).href)) as TestSetup;

let present: boolean | undefined;
/** Debian's interpreter with google.protobuf, or undefined after marking the test skipped with the reason. */
function pythonOrSkip(t: TestContext): string | undefined {
  const wanted = setup.TEST_PACKAGES.find((p) => p.pkg === 'python3-protobuf');
  if (!wanted) throw new Error('scripts/test-setup.mjs no longer lists python3-protobuf');
  present ??= wanted.present();
  if (!present) {
    t.skip(`${setup.missingReason('python3-protobuf')} (checked with ${setup.PYTHON})`);
    return undefined;
  }
  return setup.PYTHON;
}

function run(python: string, args: string[]): string {
  const r = spawnSync(python, [SCRIPT, ...args], { encoding: 'utf8', timeout: SCRIPT_TIMEOUT_MS });
  assert.equal(r.status, 0, `mx_crosscheck.py ${args[0]} failed: ${r.stderr}`);
  return r.stdout;
}

const META: PeerMetadata = {
  name: 'reviews-v2-5b667bcbf8-2hvkw',
  namespace: 'bookinfo',
  workloadName: 'reviews-v2',
  clusterId: 'Kubernetes',
  identity: 'spiffe://cluster.local/ns/bookinfo/sa/bookinfo-reviews',
  owner: 'kubernetes://apis/apps/v1/namespaces/bookinfo/deployments/reviews-v2',
  labels: { app: 'reviews', version: 'v2', 'service.istio.io/canonical-name': 'reviews', 'service.istio.io/canonical-revision': 'v2' },
  region: 'us-east-1',
  zone: 'us-east-1b',
};
const NODE_ID = 'sidecar~10.1.0.12~reviews-v2-5b667bcbf8-2hvkw.bookinfo~bookinfo.svc.cluster.local';

test('google.protobuf reads our payload as the same Any(Struct)', async (t) => {
  const python = pythonOrSkip(t);
  if (!python) return;
  const dir = await mkdtemp(join(tmpdir(), 'l4mesh-mx-'));
  try {
    const payload = encodeExchange(META, NODE_ID).subarray(MX_HEADER_BYTES);
    await writeFile(join(dir, 'any.bin'), payload);
    const seen = JSON.parse(run(python, ['decode', join(dir, 'any.bin')])) as JsonStruct;
    assert.deepEqual(seen, {
      'x-envoy-peer-metadata': {
        AVAILABILITY_ZONE: 'us-east-1b',
        CLUSTER_ID: 'Kubernetes',
        IDENTITY: 'spiffe://cluster.local/ns/bookinfo/sa/bookinfo-reviews',
        LABELS: {
          app: 'reviews',
          'service.istio.io/canonical-name': 'reviews',
          'service.istio.io/canonical-revision': 'v2',
          version: 'v2',
        },
        NAME: 'reviews-v2-5b667bcbf8-2hvkw',
        NAMESPACE: 'bookinfo',
        OWNER: 'kubernetes://apis/apps/v1/namespaces/bookinfo/deployments/reviews-v2',
        REGION: 'us-east-1',
        WORKLOAD_NAME: 'reviews-v2',
      },
      'x-envoy-peer-metadata-id': NODE_ID,
    });
    assert.deepEqual(seen, decodeStructAny(payload));
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('we read what google.protobuf writes: the same Struct, and a peer frame built from it', async (t) => {
  const python = pythonOrSkip(t);
  if (!python) return;
  const dir = await mkdtemp(join(tmpdir(), 'l4mesh-mx-'));
  try {
    const struct: JsonStruct = {
      'x-envoy-peer-metadata': {
        NAME: 'details-v1-79f774bdb9-xk2wq',
        NAMESPACE: 'bookinfo',
        WORKLOAD_NAME: 'details-v1',
        CLUSTER_ID: 'Kubernetes',
        LABELS: { app: 'details', version: 'v1' },
        ISTIO_VERSION: '1.22.1',
        PLATFORM_METADATA: {},
        REPLICAS: 2,
        READY: true,
        PORTS: ['9080', 15090],
        NOTHING: null,
      },
      'x-envoy-peer-metadata-id': 'sidecar~10.1.0.4~details-v1-79f774bdb9-xk2wq.bookinfo~bookinfo.svc.cluster.local',
    };
    await writeFile(join(dir, 'struct.json'), JSON.stringify(struct));
    run(python, ['encode', join(dir, 'struct.json'), join(dir, 'any.bin')]);
    const payload = await readFile(join(dir, 'any.bin'));
    assert.deepEqual(decodeStructAny(payload), struct);

    const header = Buffer.alloc(MX_HEADER_BYTES);
    header.writeUInt32BE(MX_MAGIC, 0);
    header.writeUInt32BE(payload.length, 4);
    const decision = new ExchangeReader().push(Buffer.concat([header, payload, Buffer.from('hello')]));
    assert.deepEqual(decision, {
      kind: 'metadata',
      metadata: {
        name: 'details-v1-79f774bdb9-xk2wq',
        namespace: 'bookinfo',
        workloadName: 'details-v1',
        clusterId: 'Kubernetes',
        labels: { app: 'details', version: 'v1' },
        nodeId: 'sidecar~10.1.0.4~details-v1-79f774bdb9-xk2wq.bookinfo~bookinfo.svc.cluster.local',
      },
      nodeId: 'sidecar~10.1.0.4~details-v1-79f774bdb9-xk2wq.bookinfo~bookinfo.svc.cluster.local',
      rest: Buffer.from('hello'),
    });
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('google.protobuf refuses the bytes our reader refuses', async (t) => {
  const python = pythonOrSkip(t);
  if (!python) return;
  const dir = await mkdtemp(join(tmpdir(), 'l4mesh-mx-'));
  try {
    // A truncated Any: field 1 announces 42 bytes of type_url but the buffer ends after 4.
    await writeFile(join(dir, 'bad.bin'), Buffer.from('0a2a74797065', 'hex'));
    const r = spawnSync(python, [SCRIPT, 'decode', join(dir, 'bad.bin')], { encoding: 'utf8', timeout: SCRIPT_TIMEOUT_MS });
    assert.equal(r.status, 2, r.stderr);
    assert.match(r.stderr, /not a google.protobuf.Any/);
    assert.throws(() => decodeStructAny(Buffer.from('0a2a74797065', 'hex')), { code: 'L4MESH_ERR_PROTOCOL' });
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
