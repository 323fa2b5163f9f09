import { userInfo } from 'node:os';
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { configFrom, type ConfigOverrides, type ServerConfig } from '../config.js';
import { processEnvironment } from '../config/options.js';
import { UsageError } from './usage.js';

type Options = NonNullable<ParseArgsConfig['options']>;

export const databaseOption = { database: { type: 'string' } } as const;

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

/** The configuration a CLI command works with: `--database`, overrides, then the environment. */
export function cliConfig(
  database: string | undefined,
  overrides: ConfigOverrides = {},
  env = processEnvironment(),
): ServerConfig {
  return configFrom({ env, overrides, flags: { database } });
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
