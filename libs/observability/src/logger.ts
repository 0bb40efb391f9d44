import pino, { type Logger, type LevelWithSilent } from 'pino';

export type { Logger };

/**
 * Structured JSON logs (SPEC §11). Child loggers carry executionId and
 * tenantId so every line of a run can be found. Secrets are redacted by path
 * in case a caller logs a whole request or config object.
 */
export function createLogger(options: { name: string; level: LevelWithSilent; destination?: pino.DestinationStream }): Logger {
  return pino(
    {
      name: options.name,
      level: options.level,
      base: { app: options.name, pid: process.pid },
      timestamp: pino.stdTimeFunctions.isoTime,
      redact: {
        paths: [
          'req.headers.authorization',
          'headers.authorization',
          'apiKey',
          'key',
          'secret',
          'webhookSecret',
          'env',
          '*.apiKey',
          '*.secret',
          '*.webhookSecret',
          'config.security',
        ],
        censor: '[redacted]',
      },
      formatters: { level: (label) => ({ level: label }) },
    },
    options.destination,
  );
}
