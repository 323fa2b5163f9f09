import { existsSync } from 'node:fs';
import { loadKek } from '../lib/kek.js';
import { kekSetting } from '../config.js';
import { kekFile } from '../config/paths.js';
import { copyStore } from '../store/copy-store.js';
import { openStore, parseDatabaseUrl } from '../store/open-store.js';
import { cliActor, cliConfig, parse, print } from './common.js';
import { UsageError } from './usage.js';

/**
 * `tessera migrate-store --from sqlite:PATH --to postgres://…`: copies a whole installation into
 * an empty database of another adapter. Secrets stay hashes and keys stay sealed, so the new
 * instances need the same key-encryption key: the command checks that one is at hand and
 * says which.
 */
export async function migrateStoreCommand(args: string[]): Promise<void> {
  const { values, positionals } = parse(args, {
    from: { type: 'string' },
    to: { type: 'string' },
  });
  if (positionals.length > 0) throw new UsageError('migrate-store takes no arguments');
  if (!values.from || !values.to)
    throw new UsageError('migrate-store needs --from URL and --to URL');
  const from = parseDatabaseUrl(values.from);
  const to = parseDatabaseUrl(values.to);

  const config = cliConfig({ database: values.from });
  const keyFile = kekFile(config);
  const envKek = kekSetting();
  const haveKek = envKek !== undefined || existsSync(keyFile);

  const source = await openStore(from);
  try {
    const pepper = await source.getSetting('secret_pepper');
    // Prove the KEK opens this database before copying what only it can unlock.
    const kek = haveKek ? loadKek(envKek, keyFile) : undefined;
    if (pepper !== undefined && kek) kek.open(pepper, 'secret_pepper');
    const target = await openStore(to);
    try {
      const counts = await copyStore(source, target);
      await target.appendAudit({
        at: Math.floor(Date.now() / 1000),
        actor: cliActor(),
        action: 'store.migrate',
        target: null,
        details: { from: from.kind, to: to.kind, ...counts },
      });
      print(
        `Copied ${counts.clients} clients (${counts.secrets} secrets), ${counts.keys} keys, ` +
          `${counts.settings} settings, ${counts.revocations} revocations and ${counts.audit} audit entries.`,
      );
      print(
        kek
          ? `Start every instance on the new database with TESSERA_KEK set to key-encryption key ${kek.id}` +
              (envKek ? ' (the TESSERA_KEK used now).' : ` (kept in ${keyFile}).`)
          : 'No key-encryption key was found for the source: use the one its servers used.',
      );
    } finally {
      await target.close();
    }
  } finally {
    await source.close();
  }
}
