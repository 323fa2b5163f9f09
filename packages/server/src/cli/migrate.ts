import { openStore, parseDatabaseUrl } from '../store/open-store.js';
import { cliConfig, databaseOption, parse, print } from './common.js';
import { UsageError } from './usage.js';

export async function migrateCommand(args: string[]): Promise<void> {
  const { values, positionals } = parse(args, databaseOption);
  if (positionals.length > 0) throw new UsageError('migrate takes no arguments');
  const store = await openStore(parseDatabaseUrl(cliConfig(values.database).database));
  await store.close();
  print('The database schema is up to date.');
}
