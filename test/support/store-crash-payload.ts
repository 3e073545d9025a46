// The resources the store crash test writes: each version's content follows from (name, seq), so a
// reader can tell a whole version from a torn one.
import { createHash } from 'node:crypto';
import type { Resource } from '../../src/api/types.js';

export const CRASH_NAMES = ['w0', 'w1', 'w2'];

/** 19 KB to 211 KB, varying with seq so that consecutive versions differ in length too. */
export function crashPayload(name: string, seq: number): string {
  const unit = createHash('sha256').update(`${name}/${seq}`).digest('hex');
  return unit.repeat(300 + ((seq * 37) % 3000));
}

export function crashResource(name: string, round: number, seq: number): Resource {
  return {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: {
      name,
      namespace: 'crash',
      labels: { round: String(round), seq: String(seq) },
      annotations: { 'l4mesh.test/payload': crashPayload(name, seq) },
    },
    spec: { ports: [{ name: 'tcp', port: 1 + (seq % 65535) }] },
  };
}
