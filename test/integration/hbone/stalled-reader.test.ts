// One tunnel whose reader never reads does not slow the others on the same pooled connection (issue 13
// item 1): flow control holds back that stream alone, the connection keeps being read.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import type { HboneStream } from '../../../src/dataplane/hbone/transport.js';
import { connectEcho, meshFixture } from './mesh-fixture.js';
import { eachTransport } from '../../support/transports.js';

const MiB = 1024 * 1024;
const OTHERS = 20;
/** Generous for a loaded 2-core box; healthy runs take a few seconds. */
const OTHERS_DEADLINE_MS = 60_000;

/** Writes `payload`, ends, and resolves with the sha256 of what comes back (or rejects at the deadline). */
function echoHash(stream: HboneStream, payload: Buffer, deadline: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const h = createHash('sha256');
    let got = 0;
    const timer = setTimeout(() => reject(new Error(`echo stalled at ${got} of ${payload.length} bytes`)), deadline - Date.now());
    stream.on('data', (c: Buffer) => {
      got += c.length;
      h.update(c);
    });
    stream.once('end', () => {
      clearTimeout(timer);
      resolve(h.digest('hex'));
    });
    stream.once('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    stream.end(payload);
  });
}

eachTransport('a stream whose reader stopped does not hold up 20 bulk echoes on its connection', { timeout: 180_000 }, async (transport) => {
  // One connection per key: every stream below shares the stalled one's connection.
  const f = await meshFixture({ transport, pool: { spreadConnections: 1 } });
  try {
    const stalled = await connectEcho(f);
    stalled.pause(); // never reads: the echo of what it sends backs up to its stream window
    stalled.on('error', () => {});
    const stalledPayload = randomBytes(8 * MiB);
    stalled.write(stalledPayload);
    let stalledReceived = 0;
    // Wait until the stalled stream's echo has filled its window (bytes parked in its readable buffer).
    const deadline = Date.now() + 30_000;
    while (stalled.readableLength === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    assert.ok(stalled.readableLength > 0, 'the echo of the stalled stream started backing up');

    const started = Date.now();
    const payloads = Array.from({ length: OTHERS }, () => randomBytes(2 * MiB));
    const streams = await Promise.all(payloads.map(() => connectEcho(f)));
    const hashes = await Promise.all(streams.map((s, i) => echoHash(s, payloads[i], started + OTHERS_DEADLINE_MS)));
    const seconds = (Date.now() - started) / 1000;
    assert.deepEqual(hashes, payloads.map((p) => createHash('sha256').update(p).digest('hex')));
    assert.equal(f.counts.sessionsOpened, 1, 'all streams shared one connection');
    // The stalled stream is still open and still holding its echo back.
    assert.equal(stalled.closed, false);
    assert.equal(stalled.destroyed, false);
    assert.ok(stalled.readableLength > 0);
    process.stdout.write(`# ${OTHERS} x 2 MiB echoed in ${seconds.toFixed(1)} s beside a stalled stream holding ${stalled.readableLength} bytes\n`);

    // Once it reads again, everything it sent comes back intact.
    const h = createHash('sha256');
    stalled.on('data', (c: Buffer) => {
      stalledReceived += c.length;
      h.update(c);
    });
    const ended = new Promise((r) => stalled.once('end', r));
    stalled.end();
    stalled.resume();
    await ended;
    assert.equal(stalledReceived, stalledPayload.length);
    assert.equal(h.digest('hex'), createHash('sha256').update(stalledPayload).digest('hex'));
  } finally {
    await f.close();
  }
});
