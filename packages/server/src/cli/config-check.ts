import { configProblems } from '../config.js';
import { parseConfigFile } from '../config/file.js';
import { ConfigError, readOption } from '../config/option.js';
import { options, processEnvironment } from '../config/options.js';
import { parse, print } from './common.js';
import { UsageError } from './usage.js';

/**
 * `tessera config check [--config FILE]`: validates the configuration file and the environment
 * together, as `serve` would read them, and names every bad option (exit 1), not only the first.
 */
export async function configCommand(args: string[]): Promise<void> {
  const [sub, ...rest] = args;
  if (sub !== 'check') throw new UsageError('expected: tessera config check [--config FILE]');
  const { values, positionals } = parse(rest, { config: { type: 'string' } });
  if (positionals.length > 0) throw new UsageError('config check takes no arguments');
  const env = processEnvironment();
  const problems: string[] = [];
  let file: Record<string, unknown> | undefined;
  let path: string | undefined;
  try {
    path = readOption(options.config, { env, flags: { config: values.config } });
    if (path !== undefined) {
      const parsed = parseConfigFile(path);
      file = parsed.table;
      problems.push(...parsed.problems);
    }
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    problems.push(...error.message.split('\n'));
  }
  problems.push(...configProblems({ env, ...(file ? { file } : {}) }).map((p) => p.message));
  if (problems.length > 0) {
    throw new ConfigError(
      `${problems.length} bad setting(s):\n${problems.map((problem) => `  ${problem}`).join('\n')}`,
    );
  }
  const from = path === undefined ? 'the environment' : `${path} and the environment`;
  print(`The configuration from ${from} is valid.`);
}
