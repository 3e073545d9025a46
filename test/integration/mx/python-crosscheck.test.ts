// The exchange payload against an independent protobuf runtime (Debian's python3-protobuf): Python reads
// what we write, and we read what Python writes, and both sides see the same Struct.
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { packageRoot } from '../../../src/config/paths.js';
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
/** pyenv or a venv may shadow Debian's interpreter, which is the one python3-protobuf installs into. */
const INTERPRETERS = ['python3', '/usr/bin/python3'];
const APT_TIMEOUT_MS = 240_000;
const SCRIPT_TIMEOUT_MS = 30_000;

function withProtobuf(): string | undefined {
  for (const python of INTERPRETERS) {
    const r = spawnSync(python, ['-c', 'import google.protobuf'], { stdio: 'ignore', timeout: SCRIPT_TIMEOUT_MS });
    if (r.status === 0) return python;
  }
  return undefined;
}

/** An interpreter with google.protobuf, installing python3-protobuf with apt when possible; else the reason. */
function findPython(): { python: string } | { skip: string } {
  const found = withProtobuf();
  if (found) return { python: found };
  if (process.getuid?.() !== 0) return { skip: 'python3-protobuf is missing and installing it with apt-get needs root' };
  const apt = spawnSync('apt-get', ['install', '-y', 'python3-protobuf'], { encoding: 'utf8', timeout: APT_TIMEOUT_MS });
  if (apt.error) return { skip: `python3-protobuf is missing and apt-get is unavailable (${apt.error.message})` };
  if (apt.status !== 0) return { skip: `apt-get install python3-protobuf failed: ${apt.stderr.trim().split('\n').pop()}` };
  const installed = withProtobuf();
  return installed ? { python: installed } : { skip: 'python3-protobuf installed but no python3 imports google.protobuf' };
}

let cached: ReturnType<typeof findPython> | undefined;
function pythonOrSkip(t: TestContext): string | undefined {
  cached ??= findPython();
  if ('skip' in cached) {
    t.skip(cached.skip);
    return undefined;
  }
  return cached.python;
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
