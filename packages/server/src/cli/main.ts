import { ConfigError } from '../config.js';
import { KekMismatchError } from '../lib/kek.js';
import { RegistryError } from '../registry/client-registry.js';
import { auditCommand } from './audit.js';
import { backupCommand, restoreCommand } from './backup.js';
import { eventsCommand } from './events.js';
import { kekCommand } from './kek.js';
import { clientsCommand } from './clients.js';
import { configCommand } from './config-check.js';
import { keysCommand } from './keys.js';
import { migrateCommand } from './migrate.js';
import { migrateStoreCommand } from './migrate-store.js';
import { operatorsCommand } from './operators.js';
import { endQuietlyOnClosedPipe } from './output.js';
import { serveCommand } from './serve.js';
import { tenantsCommand } from './tenants.js';
import { TenantError } from '../tenants/tenant-input.js';
import { usage, UsageError } from './usage.js';
import { serverVersion } from '../version.js';

const commands: Record<string, (args: string[]) => Promise<void>> = {
  serve: serveCommand,
  clients: clientsCommand,
  keys: keysCommand,
  migrate: migrateCommand,
  'migrate-store': migrateStoreCommand,
  audit: auditCommand,
  operators: operatorsCommand,
  backup: backupCommand,
  restore: restoreCommand,
  kek: kekCommand,
  config: configCommand,
  events: eventsCommand,
  tenants: tenantsCommand,
};

async function main(argv: string[]): Promise<number> {
  const [command, ...args] = argv;
  if (command === undefined || command === 'help' || command === '--help' || command === '-h') {
    process.stdout.write(`${usage}\n`);
    return command === undefined ? 2 : 0;
  }
  if (command === '--version' || command === '-v') {
    process.stdout.write(`${serverVersion}\n`);
    return 0;
  }
  const run = commands[command];
  try {
    if (!run) throw new UsageError(`unknown command: ${command}`);
    await run(args);
    return 0;
  } catch (error) {
    // A bad value on the command line is a usage error like a misspelt flag.
    if (error instanceof UsageError || (error instanceof ConfigError && error.source === 'flag')) {
      process.stderr.write(`tessera: ${error.message}\n\n${usage}\n`);
      return 2;
    }
    if (
      error instanceof RegistryError ||
      error instanceof TenantError ||
      error instanceof ConfigError ||
      error instanceof KekMismatchError
    ) {
      process.stderr.write(`tessera: ${error.message}\n`);
      return 1;
    }
    process.stderr.write(`tessera: ${error instanceof Error ? error.message : String(error)}\n`);
    return 1;
  }
}

endQuietlyOnClosedPipe();
const status = await main(process.argv.slice(2));
// serve keeps running on its own handles; every other command ends here.
if (process.argv[2] !== 'serve' || status !== 0) process.exitCode = status;
