// ztunnel-style access logs: one line per finished connection, as tab-separated text or JSON, written to
// stdout and/or a file, the lines of each 10 ms in one write.
import { createWriteStream, mkdirSync, type WriteStream } from 'node:fs';
import { dirname } from 'node:path';

export type AccessLogFormat = 'text' | 'json';
export type LogLevel = 'debug' | 'info' | 'warn' | 'error' | 'off';
const LEVEL_RANK: Readonly<Record<LogLevel, number>> = { debug: 0, info: 1, warn: 2, error: 3, off: 4 };

export interface AccessLogEntry {
  /** When the connection completed, epoch milliseconds; fractions carry the microseconds. Default: now. */
  timeMs?: number;
  src: { addr: string; workload?: string; namespace?: string; identity?: string };
  dst: { addr: string; hboneAddr?: string; service?: string; workload?: string; namespace?: string; identity?: string };
  direction: 'inbound' | 'outbound';
  /**
   * Bytes as seen by the workload side of this proxy. ztunnel swaps sent/received of the source reporter's
   * metric for its log (istio/istio#32399); callers pass the log's view here, metrics keep DESIGN's.
   */
  bytesSent: number;
  bytesRecv: number;
  durationMs: number;
  /** Set for connections that failed; the line is then logged at `error`. */
  error?: string;
}

const ESCAPED: Readonly<Record<string, string>> = { '\\': '\\\\', '"': '\\"', '\n': '\\n', '\r': '\\r', '\t': '\\t' };
const TO_ESCAPE = /[\\"\n\r\t]/;
const TO_ESCAPE_ALL = /[\\"\n\r\t]/g;

/** Quoted like ztunnel's tracing output: backslash, quote and control characters escaped. */
function quote(v: string): string {
  // Names and identities rarely hold any: testing first spares the replacement's work on every field.
  return TO_ESCAPE.test(v) ? '"' + v.replace(TO_ESCAPE_ALL, (c) => ESCAPED[c]!) + '"' : '"' + v + '"';
}

/** The second whose `YYYY-MM-DDTHH:MM:SS.` formatTimestamp last built: lines of the same second share it. */
let prefixSecond = NaN;
let secondPrefix = '';

/** RFC 3339 UTC with microseconds, e.g. `2024-05-01T12:00:00.123456Z`. */
export function formatTimestamp(timeMs: number): string {
  const wholeMs = Math.floor(timeMs);
  // Rounded, not floored: epoch milliseconds carry ~0.2 µs of floating-point error at today's dates.
  const micros = Math.min(999, Math.round((timeMs - wholeMs) * 1000));
  const second = Math.floor(wholeMs / 1000);
  if (second !== prefixSecond) {
    // A Date and its ISO string per line were 1 % of a node proxy's CPU at a few thousand connections a second.
    secondPrefix = new Date(second * 1000).toISOString().slice(0, -4);
    prefixSecond = second;
  }
  return secondPrefix + String(wholeMs - second * 1000).padStart(3, '0') + String(micros).padStart(3, '0') + 'Z';
}

export type LogField = [key: string, value: string | number | undefined, quoted: boolean];

/**
 * The two destination addresses as ztunnel logs them (istio/ztunnel src/proxy/outbound.rs, inbound.rs): a
 * tunnelled connection shows where the tunnel goes (`ip:HBONE_PORT`) as dst.addr and the target inside it
 * (the CONNECT authority) as dst.hbone_addr; one not tunnelled shows the address dialled as dst.addr alone.
 */
export function destinationAddresses(target: string, tunnel: string | undefined): { addr: string; hboneAddr?: string } {
  return tunnel ? { addr: tunnel, hboneAddr: target } : { addr: target };
}

/** The source and destination fields, in ztunnel's order (src/proxy/metrics.rs access_log!), which DESIGN §6 also lists. */
export function peerFields(src: AccessLogEntry['src'], dst: Partial<AccessLogEntry['dst']>): LogField[] {
  return [
    ['src.addr', src.addr, false],
    ['src.workload', src.workload, true],
    ['src.namespace', src.namespace, true],
    ['src.identity', src.identity, true],
    ['dst.addr', dst.addr, false],
    ['dst.hbone_addr', dst.hboneAddr, false],
    ['dst.service', dst.service, true],
    ['dst.workload', dst.workload, true],
    ['dst.namespace', dst.namespace, true],
    ['dst.identity', dst.identity, true],
  ];
}

function fieldsOf(e: AccessLogEntry): LogField[] {
  return [
    ...peerFields(e.src, e.dst),
    ['direction', e.direction, true],
    ['bytes_sent', e.bytesSent, false],
    ['bytes_recv', e.bytesRecv, false],
    ['duration', `${Math.round(e.durationMs)}ms`, true],
    ['error', e.error, true],
  ];
}

export const ACCESS_SCOPE = 'access';
export const ACCESS_MESSAGE = 'connection complete';

export function levelOf(entry: AccessLogEntry): 'info' | 'error' {
  return entry.error !== undefined ? 'error' : 'info';
}

/** One log line without the trailing newline; absent (undefined or empty) fields are omitted. */
export function formatAccessLog(entry: AccessLogEntry, format: AccessLogFormat): string {
  return formatLogLine(ACCESS_MESSAGE, levelOf(entry), fieldsOf(entry), format, entry.timeMs);
}

/** A ztunnel-style line: `<time>\t<level>\taccess\t<message>\tk=v ...`, or the same keys as JSON. */
export function formatLogLine(message: string, level: string, all: LogField[], format: AccessLogFormat, timeMs?: number): string {
  const timestamp = formatTimestamp(timeMs ?? performance.timeOrigin + performance.now());
  if (format === 'json') {
    const obj: Record<string, string | number> = { timestamp, level, scope: ACCESS_SCOPE, message };
    for (const [k, v] of all) if (v !== undefined && v !== '') obj[k] = v;
    return JSON.stringify(obj);
  }
  // One string grown in place: a line per connection, so no intermediate arrays (filter, map, join).
  let line = `${timestamp}\t${level}\t${ACCESS_SCOPE}\t${message}\t`;
  let separator = '';
  for (const [k, v, quoted] of all) {
    if (v === undefined || v === '') continue;
    line += separator + k + '=' + (quoted ? quote(String(v)) : String(v));
    separator = ' ';
  }
  return line;
}

/**
 * Past this many buffered bytes a destination is not keeping up (a blocked stdout pipe, a stalled disk);
 * lines are dropped and counted rather than growing memory without bound.
 */
export const MAX_BUFFERED_LOG_BYTES = 8 * 1024 * 1024;
/**
 * Lines are collected for this long and written together: a write per line was ~9-10 % of a node proxy's
 * CPU at 700-900 connections/s (a stdout pipe write that wakes the reader, and a file write through the
 * thread pool, each). 10 ms is well below what a person tailing the log notices.
 */
export const ACCESS_LOG_FLUSH_MS = 10;
/** Past this many collected bytes the lines are written at once. */
const BATCH_BYTES = 64 * 1024;

/** Loggers holding lines not yet written; flushed synchronously when the process exits. */
const unflushed = new Set<AccessLogger>();
process.on('exit', () => {
  for (const logger of unflushed) logger.flush();
});

export interface AccessLoggerOptions {
  format: AccessLogFormat;
  /** Appended to; its directory is created. */
  file?: string;
  /** true = process.stdout; a stream = that stream (tests). */
  stdout?: boolean | NodeJS.WritableStream;
  level?: LogLevel;
}

export class AccessLogger {
  private readonly format: AccessLogFormat;
  private level: LogLevel;
  private readonly fileStream: WriteStream | undefined;
  private readonly out: NodeJS.WritableStream | undefined;
  /** Lines dropped because a destination was too far behind. */
  dropped = 0;
  private batch = '';
  private readonly flushSoon = (): void => this.flush();

  constructor(options: AccessLoggerOptions) {
    this.format = options.format;
    this.level = options.level ?? 'info';
    if (options.file) {
      // Once at start-up; the writes themselves go through the stream's buffer.
      mkdirSync(dirname(options.file), { recursive: true });
      this.fileStream = createWriteStream(options.file, { flags: 'a' });
      // A failing log file must not crash the proxy; the lines are lost, the error is reported once.
      this.fileStream.once('error', (err) => process.emitWarning(`access log ${options.file}: ${err.message}`));
    }
    this.out = options.stdout === true ? process.stdout : options.stdout || undefined;
  }

  setLevel(level: LogLevel): void {
    this.level = level;
  }

  getLevel(): LogLevel {
    return this.level;
  }

  log(entry: AccessLogEntry): void {
    if (LEVEL_RANK[levelOf(entry)] < LEVEL_RANK[this.level]) return;
    if (!this.fileStream && !this.out) return;
    if (this.batch === '') {
      unflushed.add(this);
      setTimeout(this.flushSoon, ACCESS_LOG_FLUSH_MS).unref();
    }
    this.batch += formatAccessLog(entry, this.format) + '\n';
    if (this.batch.length >= BATCH_BYTES) this.flush();
  }

  /** Writes the collected lines now (they are otherwise written ACCESS_LOG_FLUSH_MS after the first). */
  flush(): void {
    if (this.batch === '') return;
    const lines = this.batch;
    this.batch = '';
    unflushed.delete(this);
    this.write(this.fileStream, lines);
    this.write(this.out, lines);
  }

  private write(stream: NodeJS.WritableStream | undefined, lines: string): void {
    if (!stream) return;
    const buffered = (stream as { writableLength?: number }).writableLength ?? 0;
    if (buffered > MAX_BUFFERED_LOG_BYTES) {
      this.dropped += lines.split('\n').length - 1;
      return;
    }
    stream.write(lines);
  }

  /** Flushes and closes the file; stdout is left open. */
  close(): Promise<void> {
    this.flush();
    const f = this.fileStream;
    if (!f || f.closed) return Promise.resolve();
    return new Promise((resolve) => f.end(() => resolve()));
  }
}
