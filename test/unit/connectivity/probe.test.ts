// The probe's evidence: which access-log lines belong to it, and what an `error=` string means.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { accessLines, hopOfError, LOG_CLOCK_SLACK_MS, parseLogFields } from '../../../src/connectivity/probe.js';
import { formatTimestamp } from '../../../src/dataplane/telemetry/access-log.js';

const line = (atMs: number, port: number, extra = '') =>
  `${formatTimestamp(atMs)}\tinfo\taccess\tconnection complete\tsrc.addr=127.0.0.1:${port} src.workload="client" direction="outbound"${extra}`;

test('lines of the probe are found by source port, within the clock slack before the start and not earlier', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'l4m-probe-'));
  try {
    const since = Date.parse('2026-11-29T15:00:00.000Z');
    const file = join(dir, 'node-1.log');
    await writeFile(file, [
      line(since - LOG_CLOCK_SLACK_MS - 1, 40000), // older than the slack: a previous connection
      line(since - 12, 40000, ' error="no healthy upstream"'), // a proxy clock 12 ms behind the CLI's
      line(since + 5, 40002), // another connection
      '2026-11-29T15:00:00.100Z\tinfo\taccess\tconnection opened\tsrc.addr=127.0.0.1:40000',
    ].join('\n'));
    const found = await accessLines([{ node: 'node-1', file }], since, (f) => f['src.workload'] === 'client' && f['src.addr'] === '127.0.0.1:40000');
    assert.deepEqual(found.map((l) => [l.node, l.fields['error']]), [['node-1', 'no healthy upstream']]);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('quoted values keep escaped quotes; errors map to the hop they belong to', () => {
  assert.deepEqual(parseLogFields('a=1 b="x \\"y\\"" c.d=z'), { a: '1', b: 'x "y"', 'c.d': 'z' });
  assert.equal(hopOfError('no healthy upstream').step, 'endpoints');
  assert.equal(hopOfError('connection denied by authorization policy default/x').step, 'policy');
  assert.equal(hopOfError('cannot connect to 127.0.0.1:7009: ECONNREFUSED').step, 'dial');
  assert.equal(hopOfError('deadline has elapsed').step, 'tunnel');
});
