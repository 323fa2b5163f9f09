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
  bufferBytes = 0,
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
  const logger = destination ? pino(options, destination) : pino(options);
  // The token listener's `request completed` lines (one per token): their own logger, on a
  // buffered stream of their own (below), without the redaction pass, which costs half of a
  // line (4 of 9 µs measured). Those lines are built from known fields only (method, path
  // without query, address, status, time, request id), so there is nothing to redact.
  const lines = destination ?? requestLineStream(bufferBytes);
  requestLines.set(logger, pino({ level, serializers: options.serializers ?? {} }, lines));
  return logger;
}

const requestLines = new WeakMap<Logger, Logger>();

/**
 * The logger for a request's one `request completed` line on the token fast path
 * (endpoints/token-listener.ts): `logger` itself unless createLogger made it. Only for lines
 * whose fields hold no secret; anything else goes through `logger` and its redaction.
 */
export const requestLineLogger = (logger: Logger): Logger => requestLines.get(logger) ?? logger;

/** Largest write of buffered lines: at most PIPE_BUF, so a write to a pipe is never split. */
const pipeBuf = 4096;
export const maxLogBuffer = 3072;

/**
 * `--log-buffer` (issue 24): the `request completed` lines go to stdout in writes of about
 * `bytes` instead of one `write(2)` per line. At info every token is a line, and on a loaded
 * machine each synchronous write to the log pipe also wakes its reader; batching them is
 * pino's own advice for throughput (sonic-boom `minLength`). Every other line (start-up,
 * warnings, errors, refusals) is still written at once, by the main logger. Each write holds
 * whole lines and at most PIPE_BUF bytes, so the two never cut into each other's lines on a
 * pipe; a request line may follow, by up to 250 ms, lines logged after it. The buffer is
 * written every 250 ms and synchronously when the process exits (pino's exit hook); a hard
 * kill (SIGKILL, OOM) loses what it held. `0` writes each line as it is logged.
 */
function requestLineStream(bytes: number): DestinationStream {
  if (bytes === 0) return pino.destination({ dest: 1, sync: true });
  return pino.destination({
    dest: 1,
    sync: false,
    minLength: Math.min(bytes, maxLogBuffer),
    maxWrite: pipeBuf,
    periodicFlush: 250,
  });
}
