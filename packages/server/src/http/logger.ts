import { pino, type Logger } from 'pino';

/**
 * The server's logger. Secrets and tokens never reach it: request lines carry the path
 * without its query string (credentials sent there are refused, but would still be logged),
 * and anything that looks like a credential field is redacted.
 */
export function createLogger(level: string): Logger {
  return pino({
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
  });
}
