import { signingAlgorithms, type SigningAlgorithm } from '@tessera/protocol';
import { rotateKey } from '../keys/rotate-key.js';
import { openStorage } from '../runtime.js';
import { openStore, parseDatabaseUrl } from '../store/open-store.js';
import { configFrom } from '../config.js';
import { withConfigFile } from '../config/file.js';
import { processEnvironment } from '../config/options.js';
import type { KeyRecord, Store } from '../store/contract.js';
import { keyStoreOf } from '../keys/key-location.js';
import type { KeyStores } from '../keys/key-stores.js';
import { openKeyStores } from '../keys/open-key-stores.js';
import {
  cliActor,
  cliConfig,
  databaseOption,
  parse,
  print,
  printJson,
  tenantOption,
  runSubcommand,
} from './common.js';
import { tenantStore } from '../tenants/tenant-input.js';
import { keyView } from '../views/record-views.js';
import { table } from './output.js';
import { UsageError } from './usage.js';

export async function keysCommand(args: string[]): Promise<void> {
  return runSubcommand('keys', { list, rotate }, args);
}

async function list(args: string[]): Promise<void> {
  const { values, positionals } = parse(args, {
    ...databaseOption,
    ...tenantOption,
    json: { type: 'boolean' },
  });
  if (positionals.length > 0) throw new UsageError('keys list takes no arguments');
  // Public data only: listing keys needs no key-encryption key.
  const root = await openStore(parseDatabaseUrl(cliConfig(values).database));
  try {
    const store = await tenantStore(root, values.tenant);
    const keys = (await store.listKeys()).map(keyListView);
    if (values.json) return printJson(keys);
    print(
      keys.length === 0
        ? 'No keys yet: the server creates one on first start.'
        : table(
            keys.map((key) => ({ ...key, token_label: key.token_label ?? '' })),
            [
              'kid',
              'alg',
              'state',
              'store',
              'token_label',
              'created_at',
              'activates_at',
              'retires_at',
            ],
          ),
    );
  } finally {
    await root.close();
  }
}

async function rotate(args: string[]): Promise<void> {
  const { values, positionals } = parse(args, {
    ...databaseOption,
    ...tenantOption,
    alg: { type: 'string' },
    propagation: { type: 'string' },
    json: { type: 'boolean' },
    'signing-keys': { type: 'string' },
    'pkcs11-module': { type: 'string' },
    'pkcs11-token-label': { type: 'string' },
  });
  if (positionals.length > 0) throw new UsageError('keys rotate takes no arguments');
  if (values.propagation !== undefined && !/^\d+$/.test(values.propagation)) {
    throw new UsageError('--propagation must be a whole number of seconds');
  }
  // The same settings as serve: where new keys go, and which token.
  const config = configFrom(
    withConfigFile({
      env: processEnvironment(),
      flags: {
        database: values.database,
        'signing-keys': values['signing-keys'],
        'pkcs11-module': values['pkcs11-module'],
        'pkcs11-token-label': values['pkcs11-token-label'],
        config: values.config,
      },
    }),
  );
  const propagation =
    values.propagation === undefined ? config.jwksMaxAge : Number(values.propagation);
  const { store: root, kek } = await openStorage(config);
  let store: Store;
  let alg: SigningAlgorithm;
  try {
    store = await tenantStore(root, values.tenant);
    // A tenant's own algorithm is its default, like the server's is the default tenant's.
    const tenant = store === root ? undefined : await root.getTenant(store.tenant);
    alg = (values.alg ?? tenant?.signingAlg ?? config.signingAlg) as SigningAlgorithm;
    if (!signingAlgorithms.includes(alg))
      throw new UsageError(`--alg must be one of ${signingAlgorithms.join(', ')}`);
  } catch (error) {
    await root.close();
    throw error;
  }
  // `--signing-keys pkcs11` (or TESSERA_SIGNING_KEYS): the new key is generated in the token.
  let keyStores: KeyStores;
  try {
    keyStores = openKeyStores(config, kek);
  } catch (error) {
    await root.close();
    throw error;
  }
  try {
    const now = Math.floor(Date.now() / 1000);
    const key = (await rotateKey(
      store,
      keyStores.generating,
      alg,
      () => Math.floor(Date.now() / 1000),
      propagation,
    ))!;
    await store.appendAudit({
      at: now,
      actor: cliActor(),
      action: 'key.rotate',
      target: key.kid,
      details: { alg, propagation_seconds: propagation },
    });
    if (values.json) return printJson(keyListView(key));
    const where = key.keyHandle ? ` in PKCS#11 token "${key.keyHandle.tokenLabel}"` : '';
    print(
      `Published key ${key.kid} (${alg})${where}; it starts signing at ${keyView(key).activates_at}.`,
    );
    print('The key it replaces stays in the JWKS until every token it signed has expired.');
  } finally {
    await keyStores.close();
    await root.close();
  }
}

/** The key as `keys list` shows it: the shared view plus where its private half lives. */
function keyListView(key: KeyRecord) {
  const { store, tokenLabel } = keyStoreOf(key);
  return { ...keyView(key), store, token_label: tokenLabel };
}
