import { pino, type DestinationStream, type Logger, type LoggerOptions } from 'pino';

/**
 * The server's logger. Secrets and tokens never reach it: request lines carry the path
 * without its query string (credentials sent there are refused, but would still be logged),
 * and anything that looks like a credential field is redacted.
 */
export function createLogger(level: string, destination?: DestinationStream): Logger {
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
  return destination ? pino(options, destination) : pino(options);
}
