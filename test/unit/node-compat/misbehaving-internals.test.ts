// Internals that exist but no longer behave (the handle ignores the user buffer) are caught by the bytes,
// not by the presence of the symbols: the self-test compares what arrived with what was sent.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Socket } from 'node:net';
import { checkPooledReads } from '../../../src/dataplane/pooled-reads-self-test.js';
import { READ_BUFFER_BYTES } from '../../../src/dataplane/pooled-reads.js';
import { capturingLogger, withoutTimestamp } from './self-test-log.js';

/** The handle keeps reading into buffers of its own, so the shared buffer holds other bytes. */
function ignoreUserBuffer(socket: Socket): void {
  const handle = (socket as unknown as { _handle: { useUserBuffer: (b: Buffer) => void } })._handle;
  handle.useUserBuffer = () => undefined;
}

test('an adopted socket whose bytes come out wrong turns pooled reads off, naming the first bad byte', async () => {
  const { log, lines } = capturingLogger();
  const status = await checkPooledReads(log, { beforeAdopt: ignoreUserBuffer });
  assert.equal(status.active, false);
  assert.equal(status.selfTested, false);
  // The probe is three reads' worth and a bit more (790,753 bytes with 256 KiB reads).
  const probeBytes = 3 * READ_BUFFER_BYTES + 4_321;
  assert.match(status.reason ?? '', new RegExp(`^bytes read through an adopted socket differ from those sent \\(first difference at byte \\d+ of ${probeBytes}\\)$`));
  assert.equal(lines.length, 1);
  assert.match(withoutTimestamp(lines[0]!), /^warn\tproxy\tpooled reads are off, sockets read the usual way .*\treason="bytes read through an adopted socket differ/);
});
