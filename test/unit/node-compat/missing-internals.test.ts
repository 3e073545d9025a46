// When this Node's sockets lack the internals pooled reads use, the self-test turns them off, says why in
// one warn line, and sockets then read the usual way (bytes still arrive).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Socket } from 'node:net';
import { checkPooledReads } from '../../../src/dataplane/pooled-reads-self-test.js';
import { pooledReadsStatus } from '../../../src/dataplane/pooled-reads.js';
import { capturingLogger, roundTrip, withoutTimestamp } from './self-test-log.js';

/** What a Node without `kBuffer` would look like: the symbol property is not on the socket. */
function dropKBuffer(socket: Socket): void {
  for (const sym of Object.getOwnPropertySymbols(socket)) if (sym.description === 'kBuffer') delete (socket as unknown as Record<symbol, unknown>)[sym];
}

test('a Node without kBuffer: pooled reads off with the reason, logged once at warn, reads still work', async () => {
  const { log, lines } = capturingLogger();
  const status = await checkPooledReads(log, { beforeAdopt: dropKBuffer });
  const reason = `Node ${process.version} sockets have no kBuffer symbol`;
  assert.deepEqual(status, { active: false, selfTested: false, reason });
  assert.deepEqual(pooledReadsStatus(), status);
  assert.deepEqual(lines.map(withoutTimestamp), [
    `warn\tproxy\tpooled reads are off, sockets read the usual way (one new buffer per read: more GC under load)\treason=${JSON.stringify(reason)}`,
  ]);

  // From now on neither dial nor accept uses pooled reads, and the bytes arrive all the same.
  const payload = Buffer.alloc(300 * 1024, 0x5a);
  const { echoed, dialPooled, acceptAdopted } = await roundTrip(payload);
  assert.equal(dialPooled, false);
  assert.equal(acceptAdopted, false);
  assert.ok(echoed.equals(payload));

  // A second check does not log again.
  assert.deepEqual(await checkPooledReads(log), status);
  assert.equal(lines.length, 1);
});
