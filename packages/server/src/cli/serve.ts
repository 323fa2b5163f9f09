import type { SigningAlgorithm } from '@tessera/protocol';
import { startServer } from '../start.js';
import { cliConfig, databaseOption, parse } from './common.js';
import { UsageError } from './usage.js';

export async function serveCommand(args: string[]): Promise<void> {
  const { values, positionals } = parse(args, {
    ...databaseOption,
    port: { type: 'string' },
    host: { type: 'string' },
    preset: { type: 'string' },
    issuer: { type: 'string' },
    'signing-alg': { type: 'string' },
    'key-rotation-days': { type: 'string' },
  });
  if (positionals.length > 0)
    throw new UsageError(`serve takes no arguments, got ${positionals.join(' ')}`);
  if (values.port !== undefined && !/^\d+$/.test(values.port))
    throw new UsageError('--port must be a number');
  const config = cliConfig(values.database, {
    ...(values.port !== undefined ? { port: Number(values.port) } : {}),
    ...(values.host !== undefined ? { host: values.host } : {}),
    ...(values.preset !== undefined ? { preset: values.preset } : {}),
    ...(values.issuer !== undefined ? { issuer: values.issuer } : {}),
    ...(values['key-rotation-days'] !== undefined
      ? { keyRotationDays: Number(values['key-rotation-days']) }
      : {}),
    ...(values['signing-alg'] !== undefined
      ? { signingAlg: values['signing-alg'] as SigningAlgorithm }
      : {}),
  });
  const server = await startServer(config);
  const log = server.app.log;
  log.info(
    {
      url: server.url,
      issuer: config.issuer,
      database: redactUrl(config.database),
      preset: config.preset ?? null,
    },
    'tessera listening',
  );
  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    log.info({ signal }, 'shutting down');
    server.close().then(
      () => process.exit(0),
      (error: unknown) => {
        log.error({ err: error }, 'shutdown failed');
        process.exit(1);
      },
    );
  };
  process.once('SIGTERM', () => stop('SIGTERM'));
  process.once('SIGINT', () => stop('SIGINT'));
}

/** Database URLs may carry a password; logs show the rest. */
function redactUrl(url: string): string {
  return url.replace(/\/\/([^:/@]+):[^@/]*@/, '//$1:[redacted]@');
}
