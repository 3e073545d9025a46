// Process log: ztunnel-style lines `<RFC3339 µs>Z<TAB>level<TAB>scope<TAB>message k=v ...` on stderr.

export type LogLevel = 'error' | 'warn' | 'info' | 'debug' | 'trace';

const RANK: Record<LogLevel, number> = { error: 0, warn: 1, info: 2, debug: 3, trace: 4 };

export function isLogLevel(v: string): v is LogLevel {
  return v in RANK;
}

/** RFC 3339 with microseconds, as ztunnel prints: 2024-01-01T10:00:00.123456Z. */
export function timestampMicros(epochMs: number = performance.timeOrigin + performance.now()): string {
  const iso = new Date(Math.floor(epochMs)).toISOString(); // 2024-01-01T10:00:00.123Z
  const micros = Math.floor((epochMs % 1) * 1000);
  return `${iso.slice(0, 23)}${String(micros).padStart(3, '0')}Z`;
}

function formatValue(v: unknown): string {
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  const s = v instanceof Error ? v.message : String(v);
  return JSON.stringify(s);
}

export class Logger {
  /** Shared by a logger and its children, so one `setLevel` (POST /logging?level=) reaches all scopes. */
  private readonly shared: { level: LogLevel };

  constructor(
    private readonly scope: string,
    level: LogLevel | { level: LogLevel } = 'info',
    private readonly write: (line: string) => void = (line) => process.stderr.write(line),
  ) {
    this.shared = typeof level === 'string' ? { level } : level;
  }

  child(scope: string): Logger {
    return new Logger(scope, this.shared, this.write);
  }

  setLevel(level: LogLevel): void {
    this.shared.level = level;
  }

  getLevel(): LogLevel {
    return this.shared.level;
  }

  enabled(level: LogLevel): boolean {
    return RANK[level] <= RANK[this.shared.level];
  }

  log(level: LogLevel, message: string, fields?: Record<string, unknown>): void {
    if (!this.enabled(level)) return;
    let line = `${timestampMicros()}\t${level}\t${this.scope}\t${message}`;
    if (fields) {
      const parts: string[] = [];
      for (const [k, v] of Object.entries(fields)) if (v !== undefined) parts.push(`${k}=${formatValue(v)}`);
      if (parts.length) line += `\t${parts.join(' ')}`;
    }
    this.write(line + '\n');
  }

  error(message: string, fields?: Record<string, unknown>): void {
    this.log('error', message, fields);
  }
  warn(message: string, fields?: Record<string, unknown>): void {
    this.log('warn', message, fields);
  }
  info(message: string, fields?: Record<string, unknown>): void {
    this.log('info', message, fields);
  }
  debug(message: string, fields?: Record<string, unknown>): void {
    this.log('debug', message, fields);
  }
}
