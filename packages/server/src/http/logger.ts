import { createRequire } from 'node:module';
import { pino, type DestinationStream, type Logger, type LoggerOptions } from 'pino';

/** `json` (one JSON object per line, the default) or `pretty` (pino-pretty, for a person). */
export type LogFormat = 'json' | 'pretty';

/**
 * The server's logger. Secrets and tokens never reach it: request lines carry the path
 * without its query string (credentials sent there are refused, but would still be logged),
 * and anything that looks like a credential field is redacted. `format` is how lines are
 * written: JSON, or human-readable through pino-pretty.
 */
export function createLogger(
  level: string,
  destination?: DestinationStream,
  format: LogFormat = 'json',
): Logger {
  const options: LoggerOptions = {
    level,
    redact: {
      paths: [
        'req.headers.authorization',
        'headers.authorization',
        '*.client_secret',
        '*.access_token',
        '*.token',
        'client_secret',
        'access_token',
        'token',
      ],
      censor: '[redacted]',
    },
    serializers: {
      req: (request: { method: string; url: string; ip?: string; id?: string }) => ({
        method: request.method,
        path: request.url.split('?', 1)[0],
        remoteAddress: request.ip,
      }),
    },
  };
  if (format === 'pretty') {
    // Loaded only when asked for; formats the lines pino has already redacted, in-process.
    const pretty = createRequire(import.meta.url)('pino-pretty') as (
      options: Record<string, unknown>,
    ) => DestinationStream;
    return pino(
      options,
      pretty({
        destination: destination ?? 1,
        colorize: destination === undefined && process.stdout.isTTY,
        translateTime: 'SYS:HH:MM:ss.l',
        ignore: 'hostname',
        sync: true,
      }),
    );
  }
  return destination ? pino(options, destination) : pino(options);
}
