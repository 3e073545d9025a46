// Shared pieces of the h2 interop tests: TLS material from the test CA, byte-exact echo transfers
// hashed with sha256, and a condition wait with a deadline.
import { createHash } from 'node:crypto';
import type { Duplex } from 'node:stream';
import { createTestCa } from '../../support/test-pki.js';

export interface TlsMaterial {
  key: string;
  cert: string;
  ca: string;
}

export async function tlsMaterial(): Promise<TlsMaterial> {
  const ca = await createTestCa();
  const id = await ca.issue('spiffe://cluster.local/ns/default/sa/h2-test');
  return { key: id.keyPem, cert: id.chainPem.join(''), ca: ca.rootPem };
}

/** Mesh certificates carry only a SPIFFE URI SAN; these tests check the chain, not a host name. */
export const skipHostCheck = (): undefined => undefined;

/** Deterministic bytes; each stream sends a window of this at its own offset. */
export const PAYLOAD = (() => {
  const b = Buffer.allocUnsafe(9 * 1024 * 1024);
  let x = 0x12345678;
  for (let i = 0; i < b.length; i += 4) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    b.writeInt32LE(x | 0, i);
  }
  return b;
})();

export function sha256(data: Buffer): string {
  return createHash('sha256').update(data).digest('hex');
}

/** Writes `data` in 64 KiB pieces and ends; resolves with the sha256 and length of what came back. */
export function echo(stream: Duplex, data: Buffer): Promise<{ hash: string; bytes: number }> {
  return new Promise((resolve, reject) => {
    const hash = createHash('sha256');
    let bytes = 0;
    stream.on('data', (chunk: Buffer) => {
      hash.update(chunk);
      bytes += chunk.length;
    });
    stream.once('end', () => resolve({ hash: hash.digest('hex'), bytes }));
    stream.once('error', reject);
    let offset = 0;
    const pump = (): void => {
      while (offset < data.length) {
        const piece = data.subarray(offset, offset + 65_536);
        offset += piece.length;
        if (!stream.write(piece)) return void stream.once('drain', pump);
      }
      stream.end();
    };
    pump();
  });
}

/** 100 sizes from 1 KiB to 8 MiB, spread geometrically. */
export function streamSizes(count = 100): number[] {
  return Array.from({ length: count }, (_, i) => Math.round(1024 * 2 ** ((13 * i) / (count - 1))));
}

export async function waitFor(what: string, condition: () => boolean, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}
