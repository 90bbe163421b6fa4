/**
 * `next-channels/pino`: the framework's `Logger` through pino (an optional peer dependency).
 */
import pino from 'pino';
import type { Logger, LogLevel } from './logger';

/**
 * JSON lines through pino: `{"level":"info","time":"...","msg":"...",...fields}`, on stdout unless
 * `write` is given. An `error` field is written with its name, message and stack.
 *
 * @example
 * ```ts
 * import { pinoLogger } from 'next-channels/pino';
 * const logger = pinoLogger('info');
 * ```
 */
export function pinoLogger(level: LogLevel = 'info', write?: (line: string) => void): Logger {
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
