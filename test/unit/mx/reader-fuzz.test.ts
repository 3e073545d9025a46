// Random streams, cut at random, through ExchangeReader: it never throws, decides one of the allowed kinds,
// hands back exactly the bytes it was given, and never holds or allocates more than the payload cap allows.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  encodeExchange,
  ExchangeReader,
  MAX_PAYLOAD_BYTES,
  MX_HEADER_BYTES,
  MX_MAGIC,
  type ExchangeDecision,
} from '../../../src/dataplane/mx/codec.js';

const FUZZ_TIME_MS = 3000;
const FUZZ_MAX_STREAMS = 20_000;
/** Largest chunk the generator produces; allocations may reach header + cap + one chunk, never more. */
const MAX_CHUNK = 4096;

/** mulberry32: small, seedable, so a failure can be replayed from the printed seed. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function randomBytes(rand: () => number, n: number): Buffer {
  const b = Buffer.allocUnsafe(n);
  for (let i = 0; i < n; i++) b[i] = Math.floor(rand() * 256);
  return b;
}

function header(length: number): Buffer {
  const h = Buffer.alloc(MX_HEADER_BYTES);
  h.writeUInt32BE(MX_MAGIC, 0);
  h.writeUInt32BE(length >>> 0, 4);
  return h;
}

const REAL_FRAME = encodeExchange(
  { name: 'p', namespace: 'default', workloadName: 'w', clusterId: 'Kubernetes', labels: { app: 'a', version: 'v1' } },
  'sidecar~127.0.0.1~p.default~default.svc.cluster.local',
);

function randomStream(rand: () => number): Buffer {
  const tail = randomBytes(rand, Math.floor(rand() * 64));
  switch (Math.floor(rand() * 6)) {
    case 0: // noise
      return randomBytes(rand, Math.floor(rand() * 200));
    case 1: // magic prefix, then noise
      return Buffer.concat([header(MX_MAGIC).subarray(0, 1 + Math.floor(rand() * 4)), tail]);
    case 2: { // valid header, random length (small, near the cap, or huge), random payload
      const lengths = [Math.floor(rand() * 300), MAX_PAYLOAD_BYTES - 2 + Math.floor(rand() * 5), Math.floor(rand() * 2 ** 32)];
      const length = lengths[Math.floor(rand() * lengths.length)]!;
      return Buffer.concat([header(length), randomBytes(rand, Math.min(length, Math.floor(rand() * 400))), tail]);
    }
    case 3: // a real frame, maybe truncated, then app bytes
      return Buffer.concat([REAL_FRAME.subarray(0, Math.floor(rand() * (REAL_FRAME.length + 1))), tail]);
    case 4: { // a real frame with a few bytes flipped (header kept so the payload parser is exercised)
      const f = Buffer.from(REAL_FRAME);
      for (let k = 0; k < 1 + rand() * 4; k++) f[MX_HEADER_BYTES + Math.floor(rand() * (f.length - MX_HEADER_BYTES))] = Math.floor(rand() * 256);
      return Buffer.concat([f, tail]);
    }
    default: { // header announcing exactly what follows, payload noise
      const payload = randomBytes(rand, Math.floor(rand() * 300));
      return Buffer.concat([header(payload.length), payload, tail]);
    }
  }
}

function randomChunks(rand: () => number, stream: Buffer): Buffer[] {
  const chunks: Buffer[] = [];
  const style = rand();
  for (let i = 0; i < stream.length; ) {
    const size = style < 0.3 ? 1 : 1 + Math.floor(rand() * Math.min(MAX_CHUNK, stream.length));
    chunks.push(stream.subarray(i, i + size));
    i += size;
  }
  return chunks;
}

const ALLOWED = new Set(['metadata', 'no-header', 'bad-payload', 'too-large']);

test('random streams and chunkings: allowed decisions, exact pass-through, bounded buffering', () => {
  const seed = Number(process.env.MX_FUZZ_SEED ?? Date.now() % 2 ** 31);
  const rand = prng(seed);
  const original = { alloc: Buffer.alloc, allocUnsafe: Buffer.allocUnsafe, allocUnsafeSlow: Buffer.allocUnsafeSlow };
  let largestAllocation = 0;
  const record = <F extends (size: number, ...rest: never[]) => Buffer>(f: F): F =>
    ((size: number, ...rest: never[]) => {
      largestAllocation = Math.max(largestAllocation, size);
      return f.call(Buffer, size, ...rest);
    }) as F;
  const counts: Record<string, number> = {};
  const started = Date.now();
  let streams = 0;
  try {
    for (; streams < FUZZ_MAX_STREAMS && Date.now() - started < FUZZ_TIME_MS; streams++) {
      const stream = randomStream(rand);
      const chunks = randomChunks(rand, stream);
      const context = `seed ${seed}, stream ${streams}: ${stream.toString('hex').slice(0, 80)}`;
      const reader = new ExchangeReader();
      let decision: ExchangeDecision = { kind: 'need-more' };
      let consumed = 0;
      Buffer.alloc = record(original.alloc);
      Buffer.allocUnsafe = record(original.allocUnsafe);
      Buffer.allocUnsafeSlow = record(original.allocUnsafeSlow);
      try {
        for (const chunk of chunks) {
          consumed += chunk.length;
          decision = reader.push(chunk);
          if (decision.kind !== 'need-more') break;
          assert.ok(reader.bufferedBytes < MX_HEADER_BYTES + MAX_PAYLOAD_BYTES, context);
          assert.equal(reader.bufferedBytes, consumed, context);
        }
        if (decision.kind === 'need-more') decision = reader.end();
      } finally {
        Object.assign(Buffer, original);
      }
      assert.ok(ALLOWED.has(decision.kind), context);
      counts[decision.kind] = (counts[decision.kind] ?? 0) + 1;
      const prefix = stream.subarray(0, consumed);
      switch (decision.kind) {
        case 'no-header':
        case 'bad-payload':
          assert.equal(decision.bytes.toString('hex'), prefix.toString('hex'), context);
          break;
        case 'metadata': {
          const length = stream.readUInt32BE(4);
          assert.equal(stream.readUInt32BE(0), MX_MAGIC, context);
          assert.ok(length <= MAX_PAYLOAD_BYTES, context);
          assert.equal(decision.rest.toString('hex'), stream.subarray(MX_HEADER_BYTES + length, consumed).toString('hex'), context);
          break;
        }
        case 'too-large':
          assert.equal(decision.length, stream.readUInt32BE(4), context);
          assert.ok(decision.length > MAX_PAYLOAD_BYTES, context);
          assert.ok(consumed >= MX_HEADER_BYTES, context);
          break;
      }
      assert.equal(reader.bufferedBytes, 0, context);
    }
  } finally {
    Object.assign(Buffer, original);
  }
  // Buffer.concat of held chunks goes through Buffer.allocUnsafe, so the wrapper does see the reader allocate.
  assert.ok(largestAllocation > MX_HEADER_BYTES, `largest allocation ${largestAllocation}: the wrapper saw nothing`);
  assert.ok(largestAllocation <= MX_HEADER_BYTES + MAX_PAYLOAD_BYTES + MAX_CHUNK, `largest allocation ${largestAllocation} (seed ${seed})`);
  assert.ok(streams >= 200, `only ${streams} streams in ${FUZZ_TIME_MS} ms`);
  // Every kind shows up, so the generator really reaches each branch.
  for (const kind of ALLOWED) assert.ok((counts[kind] ?? 0) > 0, `no '${kind}' decision in ${streams} streams (seed ${seed})`);
});
