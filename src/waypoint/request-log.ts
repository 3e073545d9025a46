// Access log lines for HTTP requests through the waypoint, in the ztunnel line shape plus http.* fields:
//   <RFC3339 µs>Z\tinfo\taccess\trequest complete\tsrc.addr=… src.workload="…" src.namespace="…"
//   src.identity="…" dst.addr=<node proxy ip:HBONE_PORT> dst.hbone_addr=<endpoint ip:port> dst.service="…"
//   dst.workload="…" dst.namespace="…" dst.identity="…" direction="inbound" http.method=GET
//   http.path="/reviews/1" http.status=200 route="ns/vs/http[0]" response_flags="-" bytes_sent=N
//   bytes_recv=N duration="Nms"
// (bytes_sent = response bytes to the client, bytes_recv = request bytes; 5xx lines are at `error` level
// with `error="…"` when the waypoint generated the answer; an endpoint outside the mesh, reached by plain
// TCP, has its ip:port as dst.addr and no dst.hbone_addr). JSON (`--log-format json`) has the same keys.
import { createWriteStream, mkdirSync, type WriteStream } from 'node:fs';
import { dirname } from 'node:path';
import { formatLogLine, MAX_BUFFERED_LOG_BYTES, peerFields, type AccessLogFormat, type LogField } from '../dataplane/telemetry/access-log.js';

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

function fieldsOf(e: RequestLogEntry): LogField[] {
  return [
    ...peerFields(e.src, e.dst),
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
  return formatLogLine(REQUEST_LOG_MESSAGE, e.error !== undefined ? 'error' : 'info', fieldsOf(e), format, e.timeMs);
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
