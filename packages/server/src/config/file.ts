import { readFileSync } from 'node:fs';
import { parse as parseToml, TomlError } from 'smol-toml';
import { ConfigError, fileKey, optionNames, readOption, type Sources } from './option.js';
import { optionRows, options } from './options.js';

/**
 * `--config FILE` / `TESSERA_CONFIG`: a TOML file whose top-level keys are the option table's
 * names in snake_case (`port = 8080`, `database = "postgres://…"`, `signing_alg = "ES256"`).
 * It is the lowest source: a flag wins over the environment, which wins over the file, which
 * wins over the default. Returns `sources` with the file's table added (unchanged without one).
 */
export function withConfigFile(sources: Sources): Sources {
  const path = readOption(options.config, sources);
  if (path === undefined) return sources;
  return { ...sources, file: readConfigFile(path) };
}

/** The file's settings by snake_case key; throws a ConfigError naming the file and each key. */
export function readConfigFile(path: string): Record<string, unknown> {
  const { table, problems } = parseConfigFile(path);
  if (problems.length > 0) throw new ConfigError(problems.join('\n'), 'config', 'file');
  return table;
}

/**
 * The file's known settings, and what is wrong with the rest (for `config check`, which goes
 * on to validate the known ones). Throws a ConfigError when the file cannot be read or parsed.
 */
export function parseConfigFile(path: string): {
  table: Record<string, unknown>;
  problems: string[];
} {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    throw new ConfigError(
      `configuration file ${path}: ${(error as Error).message}`,
      'config',
      'file',
    );
  }
  let table: Record<string, unknown>;
  try {
    table = parseToml(text);
  } catch (error) {
    const where = error instanceof TomlError ? ` line ${error.line}, column ${error.column}` : '';
    const message = (error as Error).message.split('\n')[0];
    throw new ConfigError(`configuration file ${path}:${where}: ${message}`, 'config', 'file');
  }
  const unknown = unknownKeys(table);
  const known = Object.fromEntries(
    Object.entries(table).filter(([key]) => !unknown.some((problem) => problem.key === key)),
  );
  return { table: known, problems: unknown.map(({ problem }) => `${path}: ${problem}`) };
}

/** Keys that name no setting, or a setting a file may not hold (secrets, the file itself). */
function unknownKeys(table: Record<string, unknown>): { key: string; problem: string }[] {
  const known = new Set(optionRows.map(fileKey).filter((key) => key !== undefined));
  return Object.keys(table)
    .filter((key) => !known.has(key))
    .map((key) => {
      const row = optionRows.find((candidate) => snake(candidate.name) === key);
      const problem = row
        ? `${key} cannot be set in a configuration file; use ${optionNames(row)}`
        : `${key} is not a Tessera setting`;
      return { key, problem };
    });
}

const snake = (name: string) => name.replace(/[A-Z]/g, (letter) => `_${letter.toLowerCase()}`);
