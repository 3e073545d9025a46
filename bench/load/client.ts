// The benchmark's load generator, run as its own process (one per measurement) so it never shares an
// event loop with a proxy or the backend. Takes one JSON argument naming the mode and prints one JSON
// result line on stdout.
//   connrate: connect, 1 KiB request, 1 KiB response, close — in `concurrency` parallel loops
//   latency:  1 KiB request/response on one persistent connection, at `rate` req/s (0 = back to back)
//   idle:     opens `count` connections, each proven end to end by a 1-byte echo, prints {"ready":n},
//             holds them until a line arrives on stdin, then closes them.
import { connect, type Socket } from 'node:net';
import { once } from 'node:events';

export type LoadSpec =
  | { mode: 'connrate'; host: string; port: number; concurrency: number; seconds: number }
  | { mode: 'latency'; host: string; port: number; rate: number; seconds: number }
  | { mode: 'idle'; host: string; port: number; count: number };

/** Request and response size of the connection-rate and latency figures (the "1 KiB"). */
const MESSAGE_BYTES = 1024;
/** Samples of the first 10 % of a latency run are dropped: JIT warm-up and pool setup are not steady state. */
const WARMUP_FRACTION = 0.1;
/** How many idle connections are being opened at once (a bounded burst, like a real client fleet). */
const IDLE_OPEN_PARALLEL = 200;
/** A single exchange that takes longer than this means the path is broken, not slow. */
const EXCHANGE_TIMEOUT_MS = 10_000;

const payload = Buffer.alloc(MESSAGE_BYTES, 0x61);

function open(host: string, port: number): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const s = connect({ host, port, noDelay: true });
    s.once('connect', () => {
      s.off('error', reject);
      resolve(s);
    });
    s.once('error', reject);
  });
}

/** Writes `data` and resolves when as many bytes have come back. */
function exchange(s: Socket, data: Buffer): Promise<void> {
  return new Promise((resolve, reject) => {
    let got = 0;
    const timer = setTimeout(() => done(new Error(`no echo within ${EXCHANGE_TIMEOUT_MS} ms`)), EXCHANGE_TIMEOUT_MS);
    const onData = (b: Buffer): void => {
      got += b.length;
      if (got >= data.length) done();
    };
    const onEnd = (): void => done(new Error(`connection closed after ${got} of ${data.length} bytes`));
    const done = (err?: Error): void => {
      clearTimeout(timer);
      s.off('data', onData);
      s.off('error', done);
      s.off('close', onEnd);
      if (err) reject(err);
      else resolve();
    };
    s.on('data', onData);
    s.once('error', done);
    s.once('close', onEnd);
    s.write(data);
  });
}

async function connRate(spec: Extract<LoadSpec, { mode: 'connrate' }>): Promise<object> {
  const deadline = performance.now() + spec.seconds * 1000;
  let completed = 0;
  let errors = 0;
  let firstError: string | undefined;
  const loop = async (): Promise<void> => {
    for (let i = 0; i < 10_000_000 && performance.now() < deadline; i++) {
      try {
        const s = await open(spec.host, spec.port);
        await exchange(s, payload);
        s.end();
        if (!s.destroyed) await once(s, 'close');
        completed++;
      } catch (err) {
        errors++;
        firstError ??= (err as Error).message;
        if (errors > 1000) return;
      }
    }
  };
  const started = performance.now();
  await Promise.all(Array.from({ length: spec.concurrency }, loop));
  const elapsed = (performance.now() - started) / 1000;
  return { completed, errors, firstError, perSecond: completed / elapsed };
}

function percentile(sorted: Float64Array, p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))]!;
}

async function latency(spec: Extract<LoadSpec, { mode: 'latency' }>): Promise<object> {
  const s = await open(spec.host, spec.port);
  const samples: number[] = [];
  const started = performance.now();
  const deadline = started + spec.seconds * 1000;
  const interval = spec.rate > 0 ? 1000 / spec.rate : 0;
  for (let i = 0; i < 100_000_000; i++) {
    const now = performance.now();
    if (now >= deadline) break;
    if (interval > 0) {
      const due = started + i * interval;
      if (due > now) await new Promise((r) => setTimeout(r, due - now));
    }
    const t0 = performance.now();
    await exchange(s, payload);
    samples.push((performance.now() - t0) * 1000);
  }
  s.destroy();
  const kept = Float64Array.from(samples.slice(Math.floor(samples.length * WARMUP_FRACTION))).sort();
  const elapsed = (performance.now() - started) / 1000;
  return {
    requests: samples.length,
    perSecond: samples.length / elapsed,
    p50us: percentile(kept, 0.5),
    p99us: percentile(kept, 0.99),
    p999us: percentile(kept, 0.999),
  };
}

async function idle(spec: Extract<LoadSpec, { mode: 'idle' }>): Promise<object> {
  const sockets: Socket[] = [];
  let next = 0;
  let errors = 0;
  let firstError: string | undefined;
  const one = Buffer.from('x');
  const worker = async (): Promise<void> => {
    while (next < spec.count) {
      next++;
      try {
        const s = await open(spec.host, spec.port);
        s.on('error', () => {});
        await exchange(s, one);
        sockets.push(s);
      } catch (err) {
        errors++;
        firstError ??= (err as Error).message;
      }
    }
  };
  await Promise.all(Array.from({ length: IDLE_OPEN_PARALLEL }, worker));
  process.stdout.write(JSON.stringify({ ready: sockets.length, errors, firstError }) + '\n');
  process.stdin.resume();
  await once(process.stdin, 'data');
  for (const s of sockets) s.destroy();
  return { opened: sockets.length, errors };
}

async function main(): Promise<void> {
  const spec = JSON.parse(process.argv[2] ?? '{}') as LoadSpec;
  let result: object;
  if (spec.mode === 'connrate') result = await connRate(spec);
  else if (spec.mode === 'latency') result = await latency(spec);
  else if (spec.mode === 'idle') result = await idle(spec);
  else throw new Error(`unknown mode ${(spec as { mode: string }).mode}`);
  process.stdout.write(JSON.stringify(result) + '\n');
  process.exit(0);
}

main().catch((err: Error) => {
  process.stderr.write(`load client: ${err.stack ?? err.message}\n`);
  process.exit(1);
});
