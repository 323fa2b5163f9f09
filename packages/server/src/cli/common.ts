import { userInfo } from 'node:os';
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { configFrom, type ConfigOverrides, type ServerConfig } from '../config.js';
import { withConfigFile } from '../config/file.js';
import { processEnvironment } from '../config/options.js';
import { UsageError } from './usage.js';

type Options = NonNullable<ParseArgsConfig['options']>;

/** What every command takes: `--database URL` and `--config FILE`. */
export const databaseOption = {
  database: { type: 'string' },
  config: { type: 'string' },
} as const;

/** The two flags of `databaseOption`, as parsed. */
export interface CommonFlags {
  database?: string | undefined;
  config?: string | undefined;
}

/** Issue 21: `--tenant NAME` of the client, key and audit commands (default: `default`). */
export const tenantOption = {
  tenant: { type: 'string' },
} as const;

/**
 * Runs `tessera GROUP SUB …`: the handler named by the first argument, with the rest; a
 * missing or unknown one is a usage error that lists the commands in the order given.
 */
export async function runSubcommand(
  group: string,
  handlers: Record<string, (args: string[]) => Promise<void>>,
  args: string[],
): Promise<void> {
  const [sub, ...rest] = args;
  const handler =
    sub === undefined ? undefined : Object.hasOwn(handlers, sub) ? handlers[sub] : undefined;
  if (handler) return handler(rest);
  throw new UsageError(
    sub
      ? `unknown ${group} command: ${sub}`
      : `${group} needs a command: ${Object.keys(handlers).join(', ')}`,
  );
}

/** parseArgs in strict mode, with its errors turned into usage errors. */
export function parse<T extends Options>(
  args: string[],
  options: T,
): ReturnType<
  typeof parseArgs<{ args: string[]; options: T; allowPositionals: true; strict: true }>
> {
  try {
    return parseArgs({ args, options, allowPositionals: true, strict: true });
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
}

/**
 * The configuration a CLI command works with: overrides, `--database`, the environment, then
 * the configuration file (`--config` or `TESSERA_CONFIG`).
 */
export function cliConfig(
  flags: CommonFlags = {},
  overrides: ConfigOverrides = {},
  env = processEnvironment(),
): ServerConfig {
  const { database, config } = flags;
  return configFrom(withConfigFile({ env, overrides, flags: { database, config } }));
}

export function onePositional(positionals: string[], what: string): string {
  if (positionals.length !== 1 || positionals[0] === '')
    throw new UsageError(`expected exactly one ${what}`);
  return positionals[0]!;
}

export function print(text: string): void {
  process.stdout.write(`${text}\n`);
}

export function printJson(value: unknown): void {
  process.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
}

/** Who the audit log names for changes made through the CLI. */
export function cliActor(): string {
  try {
    return `cli:${userInfo().username}`;
  } catch {
    return 'cli';
  }
}
