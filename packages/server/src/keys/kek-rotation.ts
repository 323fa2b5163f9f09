import type { KeyEncryptionKey } from '../lib/kek.js';
import { pepperSetting } from '../secrets/client-secret.js';
import type { Store } from '../store/contract.js';
import { sealContext } from './key-material.js';

/**
 * Seals every private key and the pepper again under the sealing key of `kek` (which must
 * still hold the keys that sealed them), in one transaction. Running servers keep their
 * decrypted keys in memory and find the new key-encryption key when they next open one.
 */
export async function rewrapAll(
  store: Store,
  kek: KeyEncryptionKey,
): Promise<{ keys: number; settings: number }> {
  if (!store.rewrap)
    throw new Error(`key-encryption key rotation is not available for the ${store.kind} store yet`);
  const keys = (await sealedKeys(store)).filter((key) => !kek.isCurrent(key.encryptedPrivateKey));
  const pepper = await store.getSetting(pepperSetting);
  const settings =
    pepper !== undefined && !kek.isCurrent(pepper)
      ? [{ name: pepperSetting, value: kek.reseal(pepper, pepperSetting) }]
      : [];
  await store.rewrap({
    keys: keys.map((key) => ({
      kid: key.kid,
      encryptedPrivateKey: kek.reseal(key.encryptedPrivateKey, sealContext(key.kid)),
    })),
    settings,
  });
  return { keys: keys.length, settings: settings.length };
}

/** Envelopes in the store not sealed under the sealing key (must be 0 before an old KEK goes). */
export async function envelopesUnderOldKeys(store: Store, kek: KeyEncryptionKey): Promise<number> {
  const keys = await sealedKeys(store);
  const pepper = await store.getSetting(pepperSetting);
  return (
    keys.filter((key) => !kek.isCurrent(key.encryptedPrivateKey)).length +
    (pepper !== undefined && !kek.isCurrent(pepper) ? 1 : 0)
  );
}

/** Every tenant's keys (issue 21): the KEK seals them all. */
async function everyKey(store: Store) {
  const tenants = await store.listTenants();
  const lists = await Promise.all([
    store.listKeys(),
    ...tenants.map((tenant) => store.forTenant(tenant.name).listKeys()),
  ]);
  return lists.flat();
}

/** Keys whose private half is sealed in the store; PKCS#11 keys never were, the KEK is not theirs. */
async function sealedKeys(store: Store) {
  return (await everyKey(store)).filter((key) => !key.keyHandle);
}

/** How many keys live in a PKCS#11 token, which KEK rotation does not touch. */
export async function tokenKeyCount(store: Store): Promise<number> {
  return (await everyKey(store)).filter((key) => key.keyHandle && key.state !== 'retired').length;
}
