import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough, Writable } from 'node:stream';
import { ACCESS_LOG_FLUSH_MS, AccessLogger, destinationAddresses, formatAccessLog, formatTimestamp, type AccessLogEntry } from '../../../src/dataplane/telemetry/access-log.js';

// 2024-05-01T12:00:00.123456Z
const T = Date.UTC(2024, 4, 1, 12, 0, 0, 123) + 0.456;

const ok: AccessLogEntry = {
  timeMs: T,
  src: { addr: '127.0.10.1:40312', workload: 'productpage-v1-0', namespace: 'default', identity: 'spiffe://cluster.local/ns/default/sa/bookinfo-productpage' },
  dst: {
    addr: '127.0.20.1:15008',
    hboneAddr: '127.0.20.5:9080',
    service: 'ratings.default.svc.cluster.local',
    workload: 'ratings-v2-0',
    namespace: 'default',
    identity: 'spiffe://cluster.local/ns/default/sa/bookinfo-ratings',
  },
  direction: 'inbound',
  bytesSent: 4096,
  bytesRecv: 120,
  durationMs: 12.4,
};

const OK_TEXT =
  '2024-05-01T12:00:00.123456Z\tinfo\taccess\tconnection complete\t' +
  'src.addr=127.0.10.1:40312 src.workload="productpage-v1-0" src.namespace="default" ' +
  'src.identity="spiffe://cluster.local/ns/default/sa/bookinfo-productpage" dst.addr=127.0.20.1:15008 ' +
  'dst.hbone_addr=127.0.20.5:9080 dst.service="ratings.default.svc.cluster.local" dst.workload="ratings-v2-0" ' +
  'dst.namespace="default" dst.identity="spiffe://cluster.local/ns/default/sa/bookinfo-ratings" direction="inbound" ' +
  'bytes_sent=4096 bytes_recv=120 duration="12ms"';

const failed: AccessLogEntry = {
  timeMs: Date.UTC(2024, 4, 1, 12, 0, 1, 5),
  src: { addr: '127.0.10.1:40313', workload: 'productpage-v1-0', namespace: 'default' },
  dst: { addr: '10.96.0.20:9080', service: 'ratings.default.svc.cluster.local' },
  direction: 'outbound',
  bytesSent: 0,
  bytesRecv: 0,
  durationMs: 3,
  error: 'connection refused by "ratings"',
};

const FAILED_TEXT =
  '2024-05-01T12:00:01.005000Z\terror\taccess\tconnection complete\t' +
  'src.addr=127.0.10.1:40313 src.workload="productpage-v1-0" src.namespace="default" dst.addr=10.96.0.20:9080 ' +
  'dst.service="ratings.default.svc.cluster.local" direction="outbound" bytes_sent=0 bytes_recv=0 duration="3ms" ' +
  'error="connection refused by \\"ratings\\""';

test('timestamps are RFC 3339 UTC with microseconds', () => {
  assert.equal(formatTimestamp(T), '2024-05-01T12:00:00.123456Z');
  assert.equal(formatTimestamp(Date.UTC(2024, 0, 2, 3, 4, 5)), '2024-01-02T03:04:05.000000Z');
  // Lines of one second share its date and time; every change of second, forward or back, is its own.
  const second = Date.UTC(2026, 10, 30, 23, 59, 59);
  assert.deepEqual([second + 7.5, second + 999.9994, second + 1000, second + 1000.001, second + 42, Date.UTC(2024, 0, 2, 3, 4, 5) + 5].map(formatTimestamp), [
    '2026-11-30T23:59:59.007500Z',
    '2026-11-30T23:59:59.999999Z',
    '2026-12-01T00:00:00.000000Z',
    '2026-12-01T00:00:00.000001Z',
    '2026-11-30T23:59:59.042000Z',
    '2024-01-02T03:04:05.005000Z',
  ]);
});

test('text access log lines, complete and failed', () => {
  assert.equal(formatAccessLog(ok, 'text'), OK_TEXT);
  assert.equal(formatAccessLog(failed, 'text'), FAILED_TEXT);
});

test('a text line escapes backslash, quote, newline, return and tab in quoted fields, and each line is its own', () => {
  const odd = { ...failed, error: 'a\\b"c\nd\re\tf', src: { ...failed.src, workload: 'plain' } };
  const line = formatAccessLog(odd, 'text');
  assert.equal(line.slice(line.indexOf('src.workload')), 'src.workload="plain" src.namespace="default" dst.addr=10.96.0.20:9080 ' +
    'dst.service="ratings.default.svc.cluster.local" direction="outbound" bytes_sent=0 bytes_recv=0 duration="3ms" ' +
    'error="a\\\\b\\"c\\nd\\re\\tf"');
  // The escaping pattern keeps no state between lines: the same entry formats the same again.
  assert.equal(formatAccessLog(odd, 'text'), line);
  // Each character alone is escaped too (a value with just one of them).
  const alone = ['\\', '"', '\n', '\r', '\t'].map((c) => /error=(.*)$/.exec(formatAccessLog({ ...failed, error: `x${c}y` }, 'text'))![1]);
  assert.deepEqual(alone, ['"x\\\\y"', '"x\\"y"', '"x\\ny"', '"x\\ry"', '"x\\ty"']);
  assert.equal(formatAccessLog(failed, 'text'), FAILED_TEXT);
});

test('JSON access log lines carry the same keys', () => {
  assert.equal(
    formatAccessLog(failed, 'json'),
    '{"timestamp":"2024-05-01T12:00:01.005000Z","level":"error","scope":"access","message":"connection complete",' +
      '"src.addr":"127.0.10.1:40313","src.workload":"productpage-v1-0","src.namespace":"default","dst.addr":"10.96.0.20:9080",' +
      '"dst.service":"ratings.default.svc.cluster.local","direction":"outbound","bytes_sent":0,"bytes_recv":0,"duration":"3ms",' +
      '"error":"connection refused by \\"ratings\\""}',
  );
  const parsed = JSON.parse(formatAccessLog(ok, 'json'));
  assert.deepEqual(Object.keys(parsed), [
    'timestamp', 'level', 'scope', 'message', 'src.addr', 'src.workload', 'src.namespace', 'src.identity', 'dst.addr',
    'dst.hbone_addr', 'dst.service', 'dst.workload', 'dst.namespace', 'dst.identity', 'direction', 'bytes_sent', 'bytes_recv', 'duration',
  ]);
  assert.equal(parsed.bytes_sent, 4096);
});

test('AccessLogger appends to a file in a created directory and to stdout, honouring the level', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'l4mesh-accesslog-'));
  try {
    const file = join(dir, 'logs', 'access.log');
    const out = new PassThrough();
    let stdout = '';
    out.on('data', (c: Buffer) => (stdout += c.toString()));
    const logger = new AccessLogger({ format: 'text', file, stdout: out, level: 'info' });
    logger.log(ok);
    logger.setLevel('error');
    logger.log(ok); // below the level: dropped
    logger.log(failed);
    await logger.close();
    assert.equal(await readFile(file, 'utf8'), `${OK_TEXT}\n${FAILED_TEXT}\n`);
    assert.equal(stdout, `${OK_TEXT}\n${FAILED_TEXT}\n`);

    const again = new AccessLogger({ format: 'json', file, level: 'off' });
    again.log(failed);
    await again.close();
    assert.equal(await readFile(file, 'utf8'), `${OK_TEXT}\n${FAILED_TEXT}\n`);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('AccessLogger writes the lines of 10 ms in one write, in order', async () => {
  const writes: string[] = [];
  const out = new Writable({
    write(chunk: Buffer, _encoding, done) {
      writes.push(chunk.toString());
      done();
    },
  });
  const logger = new AccessLogger({ format: 'text', stdout: out, level: 'info' });
  logger.log(ok);
  logger.log(failed);
  logger.log(ok);
  await new Promise((r) => setImmediate(r));
  assert.deepEqual(writes, [], 'nothing is written before ACCESS_LOG_FLUSH_MS');
  // The batch timer fires after ACCESS_LOG_FLUSH_MS; on a busy machine maybe much later, so wait for it.
  const startedAt = Date.now();
  while (writes.length === 0 && Date.now() - startedAt < 10_000) await new Promise((r) => setTimeout(r, ACCESS_LOG_FLUSH_MS));
  assert.deepEqual(writes, [`${OK_TEXT}\n${FAILED_TEXT}\n${OK_TEXT}\n`]);
  logger.log(failed);
  logger.flush();
  assert.deepEqual(writes.slice(1), [`${FAILED_TEXT}\n`], 'flush() writes at once');
});

test('destination addresses as ztunnel logs them: the tunnel in dst.addr and its target in dst.hbone_addr; untunnelled, the target alone', () => {
  assert.deepEqual(destinationAddresses('127.0.20.5:9080', '127.0.10.2:15008'), { addr: '127.0.10.2:15008', hboneAddr: '127.0.20.5:9080' });
  assert.deepEqual(destinationAddresses('127.0.20.5:9080', undefined), { addr: '127.0.20.5:9080' });
  const line = formatAccessLog({ ...ok, dst: { ...destinationAddresses('127.0.20.5:9080', undefined), workload: 'plain-0' } }, 'text');
  assert.equal(line.slice(line.indexOf(' dst.')), ' dst.addr=127.0.20.5:9080 dst.workload="plain-0" direction="inbound" bytes_sent=4096 bytes_recv=120 duration="12ms"');
});
