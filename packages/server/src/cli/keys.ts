import { openStore, parseDatabaseUrl } from '../store/open-store.js';
import { cliConfig, databaseOption, parse, print, printJson } from './common.js';
import { keyView, table } from './output.js';
import { UsageError } from './usage.js';

export async function keysCommand(args: string[]): Promise<void> {
  const [sub, ...rest] = args;
  if (sub !== 'list')
    throw new UsageError(sub ? `unknown keys command: ${sub}` : 'keys needs a command: list');
  const { values, positionals } = parse(rest, { ...databaseOption, json: { type: 'boolean' } });
  if (positionals.length > 0) throw new UsageError('keys list takes no arguments');
  // Public data only: listing keys needs no key-encryption key.
  const store = await openStore(parseDatabaseUrl(cliConfig(values.database).database));
  try {
    const keys = (await store.listKeys()).map(keyView);
    if (values.json) return printJson(keys);
    print(
      keys.length === 0
        ? 'No keys yet: the server creates one on first start.'
        : table(keys, ['kid', 'alg', 'state', 'created_at', 'activates_at', 'retires_at']),
    );
  } finally {
    await store.close();
  }
}
