// Access log lines for HTTP requests through the waypoint, in the ztunnel line shape plus http.* fields:
//   <RFC3339 µs>Z\tinfo\taccess\trequest complete\tsrc.addr=… src.workload="…" src.namespace="…"
//   src.identity="…" dst.addr=<endpoint ip:port> dst.hbone_addr=<node proxy ip:15008> dst.service="…"
//   dst.workload="…" dst.namespace="…" dst.identity="…" direction="inbound" http.method=GET
//   http.path="/reviews/1" http.status=200 route="ns/vs/http[0]" response_flags="-" bytes_sent=N
//   bytes_recv=N duration="Nms"
// (bytes_sent = response bytes to the client, bytes_recv = request bytes; 5xx lines are at `error` level
// with `error="…"` when the waypoint generated the answer). JSON (`--log-format json`) has the same keys.
import { createWriteStream, mkdirSync, type WriteStream } from 'node:fs';
import { dirname } from 'node:path';
import { formatTimestamp, MAX_BUFFERED_LOG_BYTES, type AccessLogFormat } from '../dataplane/telemetry/access-log.js';

export const REQUEST_LOG_MESSAGE = 'request complete';

export interface RequestLogEntry {
  timeMs?: number;
  src: { addr: string; workload?: string; namespace?: string; identity?: string };
  dst: { addr?: string; hboneAddr?: string; service?: string; workload?: string; namespace?: string; identity?: string };
  method: string;
  path: string;
  status: number;
  route?: string;
  responseFlags: string;
  bytesSent: number;
  bytesRecv: number;
  durationMs: number;
  error?: string;
}

type Field = [key: string, value: string | number | undefined, quoted: boolean];

function quote(v: string): string {
  return '"' + v.replace(/[\\"\n\r\t]/g, (c) => ({ '\\': '\\\\', '"': '\\"', '\n': '\\n', '\r': '\\r', '\t': '\\t' })[c]!) + '"';
}

function fieldsOf(e: RequestLogEntry): Field[] {
  return [
    ['src.addr', e.src.addr, false],
    ['src.workload', e.src.workload, true],
    ['src.namespace', e.src.namespace, true],
    ['src.identity', e.src.identity, true],
    ['dst.addr', e.dst.addr, false],
    ['dst.hbone_addr', e.dst.hboneAddr, false],
    ['dst.service', e.dst.service, true],
    ['dst.workload', e.dst.workload, true],
    ['dst.namespace', e.dst.namespace, true],
    ['dst.identity', e.dst.identity, true],
    ['direction', 'inbound', true],
    ['http.method', e.method, false],
    ['http.path', e.path, true],
    ['http.status', e.status, false],
    ['route', e.route, true],
    ['response_flags', e.responseFlags, true],
    ['bytes_sent', e.bytesSent, false],
    ['bytes_recv', e.bytesRecv, false],
    ['duration', `${Math.round(e.durationMs)}ms`, true],
    ['error', e.error, true],
  ];
}

export function formatRequestLog(e: RequestLogEntry, format: AccessLogFormat): string {
  const timestamp = formatTimestamp(e.timeMs ?? performance.timeOrigin + performance.now());
  const level = e.error !== undefined ? 'error' : 'info';
  const fields = fieldsOf(e).filter(([, v]) => v !== undefined && v !== '');
  if (format === 'json') {
    const obj: Record<string, string | number> = { timestamp, level, scope: 'access', message: REQUEST_LOG_MESSAGE };
    for (const [k, v] of fields) obj[k] = v!;
    return JSON.stringify(obj);
  }
  return `${timestamp}\t${level}\taccess\t${REQUEST_LOG_MESSAGE}\t${fields.map(([k, v, q]) => `${k}=${q ? quote(String(v)) : String(v)}`).join(' ')}`;
}

/** Writes request lines to stdout and a file; a destination that falls far behind loses lines, counted. */
export class RequestLogger {
  private readonly file?: WriteStream;
  dropped = 0;

  constructor(
    private readonly format: AccessLogFormat,
    file: string | undefined,
    private readonly stdout: NodeJS.WritableStream | undefined = process.stdout,
  ) {
    if (file) {
      mkdirSync(dirname(file), { recursive: true });
      this.file = createWriteStream(file, { flags: 'a' });
      this.file.once('error', (err) => process.emitWarning(`request log ${file}: ${err.message}`));
    }
  }

  log(entry: RequestLogEntry): void {
    const line = formatRequestLog(entry, this.format) + '\n';
    for (const s of [this.file, this.stdout]) {
      if (!s) continue;
      if (((s as { writableLength?: number }).writableLength ?? 0) > MAX_BUFFERED_LOG_BYTES) this.dropped++;
      else s.write(line);
    }
  }

  close(): Promise<void> {
    const f = this.file;
    if (!f || f.closed) return Promise.resolve();
    return new Promise((resolve) => f.end(() => resolve()));
  }
}
