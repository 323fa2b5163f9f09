/**
 * What one row of the option table is, the parsers rows use, and how a row's value is read
 * from its sources. The rows themselves are in `options.ts`.
 */

/** A setting that cannot be used: the message names the option and each way to set it. */
export class ConfigError extends Error {
  override name = 'ConfigError';
  constructor(
    message: string,
    /** The option's name in the table (camelCase), when one option is at fault. */
    readonly option?: string,
    /** Where the bad value came from; a bad flag is a usage error (exit status 2). */
    readonly source?: Source,
  ) {
    super(message);
  }
}

/** Where a value came from, in precedence order: flag > environment > file > default. */
export type Source = 'override' | 'flag' | 'env' | 'file';

/** The commands that read options; `commands` on a row says which use it. */
export const allCommands = [
  'serve',
  'clients',
  'keys',
  'audit',
  'migrate',
  'migrate-store',
  'backup',
  'restore',
  'kek',
  'events',
  'operators',
] as const;
export type CommandName = (typeof allCommands)[number];

/** Raw text from a flag, the environment or a file; typed values come from embedders. */
export type Raw = string | readonly string[] | number | boolean;

export interface Option<T> {
  /** camelCase; the `ServerConfig` field. The config-file key is its snake_case. */
  name: string;
  /** e.g. `--port`; undefined when the option has no flag. */
  flag?: `--${string}`;
  /** Placeholder in `--help`: `--port N`. */
  metavar?: string;
  /** The flag may be given several times (values are collected). */
  multiple?: true;
  /** The flag is a switch, given alone (`--metrics-client-labels`); its variable says true/false. */
  switch?: true;
  /** Environment variable; undefined when the option has none. */
  env?: string;
  /** False: not settable from a configuration file (secrets, things read before start-up). */
  file?: false;
  /** An empty value is passed to the parser instead of counting as unset (kept as it was). */
  emptyIsValue?: true;
  /** The value when no source sets one; undefined when unset means "none" or is computed. */
  default?: T;
  /** The default in words for the README and `--help` (markdown); else `default` in code. */
  defaultDoc?: string;
  /** One line for `--help` and the README. */
  doc: string;
  /** The commands that read it. Default: serve. */
  commands?: readonly CommandName[];
  /** Validates and converts; throws `InvalidValue` with what is wrong. Default: any text. */
  parse?: (raw: Raw, source: Source) => T;
}

/** Thrown by parsers; `readOption` turns it into a ConfigError naming the option. */
export class InvalidValue extends Error {
  override name = 'InvalidValue';
}

/** The commands that read the option. */
export function commandsOf(option: Option<unknown>): readonly CommandName[] {
  return option.commands ?? ['serve'];
}

/** snake_case of the option name: its key in a configuration file. */
export function fileKey(option: Option<unknown>): string | undefined {
  if (option.file === false) return undefined;
  return option.name.replace(/[A-Z]/g, (letter) => `_${letter.toLowerCase()}`);
}

/** The default as the README and `--help` show it (markdown). */
export function describeDefault(option: Option<unknown>): string {
  if (option.defaultDoc !== undefined) return option.defaultDoc;
  if (option.default === undefined) return 'none';
  return `\`${String(option.default)}\``;
}

/** Every way to set the option, for messages: `--port or PORT`. */
export function optionNames(option: Option<unknown>): string {
  const names = [option.flag, option.env].filter((name) => name !== undefined);
  return names.length === 0 ? option.name : names.join(' or ');
}

export interface Sources {
  /** Typed values from an embedder (`loadConfig`'s overrides); they win over everything. */
  overrides?: Readonly<Record<string, unknown>>;
  /** Parsed command-line flags by flag name without dashes (`port`, `trusted-proxy`). */
  flags?: Readonly<Record<string, string | boolean | readonly (string | boolean)[] | undefined>>;
  env?: NodeJS.ProcessEnv;
  /** A configuration file's top-level table, by snake_case key. */
  file?: Readonly<Record<string, unknown>>;
}

/**
 * The option's value from the first source that sets it, parsed; undefined when none does.
 * An empty flag or environment value counts as unset unless the row says otherwise.
 */
export function readOption<T>(option: Option<T>, sources: Sources): T | undefined {
  const found = find(option, sources);
  if (found === undefined) return undefined;
  const [raw, source] = found;
  try {
    return option.parse ? option.parse(raw, source) : (text(raw) as T);
  } catch (error) {
    if (!(error instanceof InvalidValue)) throw error;
    const named =
      source === 'flag'
        ? option.flag
        : source === 'file'
          ? fileKey(option)
          : (option.env ?? option.flag ?? option.name);
    const all = optionNames(option);
    const also = all === named ? '' : ` (${all})`;
    throw new ConfigError(`${named} ${error.message}${also}`, option.name, source);
  }
}

/** The option's value, or its default when no source sets it. */
export function optionValue<T>(option: Option<T>, sources: Sources): T {
  const value = readOption(option, sources);
  if (value !== undefined) return value;
  if (option.default === undefined) throw new Error(`option ${option.name} has no default`);
  return option.default;
}

function find(option: Option<unknown>, sources: Sources): [Raw, Source] | undefined {
  const set = (value: unknown) =>
    value !== undefined && (option.emptyIsValue === true || value !== '');
  const override = sources.overrides?.[option.name];
  if (override !== undefined) return [override as Raw, 'override'];
  const flag = option.flag && sources.flags?.[option.flag.slice(2)];
  if (flag !== undefined && set(flag)) return [flag as Raw, 'flag'];
  const env = option.env && sources.env?.[option.env];
  if (env !== undefined && set(env)) return [env, 'env'];
  const key = fileKey(option);
  const file = key === undefined ? undefined : sources.file?.[key];
  if (file !== undefined && set(file)) return [file as Raw, 'file'];
  return undefined;
}

// Parsers. Each accepts exactly what the option accepted before the table existed.

function text(raw: Raw): string {
  if (typeof raw === 'string') return raw;
  if (typeof raw === 'number' || typeof raw === 'boolean') return String(raw);
  throw new InvalidValue(`must be one value, got ${JSON.stringify(raw)}`);
}

export const string = (raw: Raw): string => text(raw);

/** `Number()` semantics, an integer from min to max. */
export function integer(min: number, max: number): (raw: Raw) => number {
  return (raw) => {
    const number = typeof raw === 'number' ? raw : Number(text(raw));
    if (!Number.isInteger(number) || number < min || number > max) {
      throw new InvalidValue(
        `must be an integer from ${min} to ${max}, got ${JSON.stringify(raw)}`,
      );
    }
    return number;
  };
}

/** Decimal digits only, from min to max. */
export function wholeNumber(min: number, max: number): (raw: Raw) => number {
  return (raw) => {
    const value = text(raw);
    const number = Number(value);
    if (!/^\d+$/.test(value) || number < min || number > max) {
      throw new InvalidValue(
        `must be a whole number from ${min} to ${max}, got ${JSON.stringify(raw)}`,
      );
    }
    return number;
  };
}

export function oneOf<T extends string>(values: readonly T[]): (raw: Raw) => T {
  return (raw) => {
    const value = text(raw);
    if (!values.includes(value as T)) {
      throw new InvalidValue(`must be one of ${values.join(', ')}, got ${JSON.stringify(value)}`);
    }
    return value as T;
  };
}

/** A list: repeated flags or an array as given; a comma-separated value split and trimmed. */
export function list(raw: Raw): string[] {
  if (Array.isArray(raw)) return [...(raw as readonly string[])];
  return text(raw)
    .split(',')
    .map((entry) => entry.trim())
    .filter((entry) => entry !== '');
}
