import pino from 'pino';

/** Structured logging as the framework needs it: a level, a message, and fields. */
export interface Logger {
  debug(message: string, fields?: LogFields): void;
  info(message: string, fields?: LogFields): void;
  warn(message: string, fields?: LogFields): void;
  error(message: string, fields?: LogFields): void;
}

export type LogFields = Readonly<Record<string, unknown>>;

export const LOG_LEVELS = ['debug', 'info', 'warn', 'error', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

/**
 * JSON lines through pino: `{"level":"info","time":"...","msg":"...",...fields}`, on stdout unless
 * `write` is given. An `error` field is written with its name, message and stack.
 */
export function createLogger(level: LogLevel = 'info', write?: (line: string) => void): Logger {
  const logger = pino(
    {
      level,
      base: undefined,
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }) },
      serializers: { error: pino.stdSerializers.err },
    },
    write ? { write } : pino.destination({ dest: 1, sync: true }),
  );
  return {
    debug: (message, fields) => logger.debug(fields ?? {}, message),
    info: (message, fields) => logger.info(fields ?? {}, message),
    warn: (message, fields) => logger.warn(fields ?? {}, message),
    error: (message, fields) => logger.error(fields ?? {}, message),
  };
}

/** Drops everything; for tests that assert on behaviour, not on logs. */
export const silentLogger: Logger = createLogger('silent');
