import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { envelopesUnderOldKeys, rewrapAll, tokenKeyCount } from '../keys/kek-rotation.js';
import {
  decodeKek,
  KeyEncryptionKey,
  kekId,
  loadKek,
  readKeyFile,
  writeKeyFile,
} from '../lib/kek.js';
import { kekSetting } from '../config.js';
import { kekFile } from '../config/paths.js';
import { openStore, parseDatabaseUrl } from '../store/open-store.js';
import { cliActor, cliConfig, databaseOption, parse, print, printJson } from './common.js';
import { UsageError } from './usage.js';

export async function kekCommand(args: string[]): Promise<void> {
  const [sub, ...rest] = args;
  const { values, positionals } = parse(rest, { ...databaseOption, json: { type: 'boolean' } });
  if (positionals.length > 0) throw new UsageError(`kek ${sub ?? ''} takes no arguments`);
  const config = cliConfig(values);
  const file = kekFile(config);
  const envKek = kekSetting();
  const fromEnv = envKek !== undefined;
  if (sub !== 'rotate' && sub !== 'prune')
    throw new UsageError(
      sub ? `unknown kek command: ${sub}` : 'kek needs a command: rotate, prune',
    );
  const store = await openStore(parseDatabaseUrl(config.database));
  try {
    if (sub === 'rotate') {
      const fresh = randomBytes(32);
      const current = fromEnv
        ? envKek.split(',').map((part) => decodeKek(part.trim(), 'TESSERA_KEK'))
        : existsSync(file)
          ? null
          : [];
      let kek: KeyEncryptionKey;
      if (current === null) {
        const old = loadKek(undefined, file);
        // The new key goes into the file first, so any process that meets an envelope
        // sealed under it can find it; the old one stays until `kek prune`.
        writeKeyFile(file, [fresh, ...readAll(old, file)]);
        kek = loadKek(undefined, file);
      } else {
        kek = new KeyEncryptionKey([fresh, ...current]);
      }
      const result = await rewrapAll(store, kek);
      await store.appendAudit({
        at: Math.floor(Date.now() / 1000),
        actor: cliActor(),
        action: 'kek.rotate',
        target: kek.id,
        details: { keys: result.keys, settings: result.settings },
      });
      if (values.json) {
        printJson({
          kek_id: kek.id,
          resealed_keys: result.keys,
          resealed_settings: result.settings,
          ...(fromEnv ? { new_kek: fresh.toString('base64') } : { key_file: file }),
        });
        return;
      }
      print(
        `Sealed ${result.keys} signing key(s) and the secret pepper under key-encryption key ${kek.id}.`,
      );
      const inToken = await tokenKeyCount(store);
      if (inToken > 0)
        print(
          `${inToken} key(s) live in a PKCS#11 token: the KEK never protected them, and they stay where they are.`,
        );
      if (fromEnv) {
        print(`New TESSERA_KEK (shown once): ${fresh.toString('base64')}`);
        print(
          'Set TESSERA_KEK to the new value, followed by a comma and the old one while instances restart;',
        );
        print('then to the new value alone. The old key can then be destroyed.');
      } else {
        print(
          `${file} now lists the new key first and the old one after it; running servers pick it up.`,
        );
        print(
          'Once every instance has been restarted, run `tessera kek prune` to destroy the old key.',
        );
      }
      return;
    }
    if (fromEnv)
      throw new UsageError(
        'kek prune edits the key file; with TESSERA_KEK, drop the old value from the variable instead',
      );
    const kek = loadKek(undefined, file);
    const remaining = await envelopesUnderOldKeys(store, kek);
    if (remaining > 0)
      throw new Error(
        `${remaining} envelope(s) are still sealed under an old key; run \`tessera kek rotate\` first`,
      );
    const kept = readAll(kek, file).slice(0, 1);
    writeKeyFile(file, kept);
    const dropped = kek.ids.length - 1;
    if (values.json) return printJson({ kek_id: kekId(kept[0]!), destroyed: dropped });
    print(`Destroyed ${dropped} old key-encryption key(s); ${file} holds only ${kek.id}.`);
  } finally {
    await store.close();
  }
}

/** Every key in the file, sealing key first; refuses if the file changed under us. */
function readAll(kek: KeyEncryptionKey, file: string): Buffer[] {
  const keys = readKeyFile(file);
  if (kekId(keys[0]!) !== kek.ids[0])
    throw new Error(`${file} changed while rotating; run the command again`);
  return keys;
}
