/** Structured logging as the framework needs it: a level, a message, and fields. */
export interface Logger {
  /** Detail for finding a fault; off in production by default. */
  debug(message: string, fields?: LogFields): void;
  /** What the server did: started, reloaded, stopped. */
  info(message: string, fields?: LogFields): void;
  /** Trouble the server rides out by itself: a service unreachable, a client too far behind. */
  warn(message: string, fields?: LogFields): void;
  /** Something failed that should not have: a consumer crashed, a reload or a shutdown failed. */
  error(message: string, fields?: LogFields): void;
}

/** What a log line carries besides its message; an `error` field may hold an `Error`. */
export type LogFields = Readonly<Record<string, unknown>>;

/** The levels, least severe first; `silent` writes nothing. */
export const LOG_LEVELS = ['debug', 'info', 'warn', 'error', 'silent'] as const;
/** One of {@link LOG_LEVELS}. */
export type LogLevel = (typeof LOG_LEVELS)[number];

/**
 * JSON lines with no dependency: `{"level":"info","time":"...","msg":"...",...fields}`, written
 * through `write` (standard output by default). An `error` field is written with its name,
 * message and stack. The default logger of the framework; `next-channels/pino` gives pino's.
 *
 * @example
 * ```ts
 * const logger = jsonLogger('warn');
 * logger.warn('disk nearly full', { freeBytes: 1024 });
 * ```
 */
export function jsonLogger(level: LogLevel = 'info', write: (line: string) => void = (line) => process.stdout.write(line)): Logger {
  const threshold = LOG_LEVELS.indexOf(level);
  const at = (lineLevel: Exclude<LogLevel, 'silent'>) => {
    if (LOG_LEVELS.indexOf(lineLevel) < threshold) return () => {};
    return (message: string, fields?: LogFields): void => {
      const line: Record<string, unknown> = { level: lineLevel, time: new Date().toISOString(), msg: message };
      for (const [key, value] of Object.entries(fields ?? {})) line[key] = value instanceof Error ? describeError(value) : value;
      write(`${safeStringify(line)}\n`);
    };
  };
  return { debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') };
}

/** Drops everything; for tests that assert on behaviour, not on logs. */
export const silentLogger: Logger = { debug() {}, info() {}, warn() {}, error() {} };

function describeError(error: Error): Record<string, unknown> {
  return { type: error.name, message: error.message, stack: error.stack };
}

function safeStringify(value: unknown): string {
  try {
    return JSON.stringify(value, (_key, field: unknown) => (typeof field === 'bigint' ? field.toString() : field));
  } catch {
    return JSON.stringify({ level: 'error', msg: 'unserialisable log line' });
  }
}
