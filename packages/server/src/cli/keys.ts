import { signingAlgorithms, type SigningAlgorithm } from '@tessera/protocol';
import { rotateKey } from '../keys/rotate-key.js';
import { openStorage } from '../runtime.js';
import { openStore, parseDatabaseUrl } from '../store/open-store.js';
import { cliActor, cliConfig, databaseOption, parse, print, printJson } from './common.js';
import { keyView } from '../views/record-views.js';
import { table } from './output.js';
import { UsageError } from './usage.js';

export async function keysCommand(args: string[]): Promise<void> {
  const [sub, ...rest] = args;
  if (sub === 'list') return list(rest);
  if (sub === 'rotate') return rotate(rest);
  throw new UsageError(sub ? `unknown keys command: ${sub}` : 'keys needs a command: list, rotate');
}

async function list(args: string[]): Promise<void> {
  const { values, positionals } = parse(args, { ...databaseOption, json: { type: 'boolean' } });
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

async function rotate(args: string[]): Promise<void> {
  const { values, positionals } = parse(args, {
    ...databaseOption,
    alg: { type: 'string' },
    propagation: { type: 'string' },
    json: { type: 'boolean' },
  });
  if (positionals.length > 0) throw new UsageError('keys rotate takes no arguments');
  if (values.propagation !== undefined && !/^\d+$/.test(values.propagation)) {
    throw new UsageError('--propagation must be a whole number of seconds');
  }
  const config = cliConfig(values.database);
  const alg = (values.alg ?? config.signingAlg) as SigningAlgorithm;
  if (!signingAlgorithms.includes(alg))
    throw new UsageError(`--alg must be one of ${signingAlgorithms.join(', ')}`);
  const propagation =
    values.propagation === undefined ? config.jwksMaxAge : Number(values.propagation);
  const { store, kek } = await openStorage(config);
  try {
    const now = Math.floor(Date.now() / 1000);
    const key = (await rotateKey(
      store,
      kek,
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
    if (values.json) return printJson(keyView(key));
    print(`Published key ${key.kid} (${alg}); it starts signing at ${keyView(key).activates_at}.`);
    print('The key it replaces stays in the JWKS until every token it signed has expired.');
  } finally {
    await store.close();
  }
}
