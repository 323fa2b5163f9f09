import type { Store } from './contract.js';

export interface CopyCounts {
  clients: number;
  secrets: number;
  keys: number;
  settings: number;
  revocations: number;
  audit: number;
}

/** Audit entries are read in one go; more than this many is not a realistic log. */
const auditLimit = 2_147_483_647;

export class StoreNotEmptyError extends Error {
  readonly code = 'ERR_TESSERA_STORE_NOT_EMPTY';
  constructor(message: string) {
    super(message);
    this.name = 'StoreNotEmptyError';
  }
}

/**
 * Copies everything from `source` into the empty `target` (another adapter, usually): settings
 * (the pepper stays sealed as it is, so every secret hash keeps matching under the same KEK),
 * signing keys (sealed private keys, states and schedule), clients with their secret hashes and
 * timestamps, live revocations, the console's operator list and the audit log. Revocation sequence numbers are the
 * target's own, so revocation-feed cursors start over. Refuses a target that holds data.
 */
export async function copyStore(source: Store, target: Store): Promise<CopyCounts> {
  const [clients, keys, settings] = await Promise.all([
    target.listClients(),
    target.listKeys(),
    target.listSettings(),
  ]);
  if (clients.length + keys.length + settings.length > 0)
    throw new StoreNotEmptyError(
      'the target database already holds Tessera data; migrate-store copies into an empty database only',
    );

  const counts: CopyCounts = {
    clients: 0,
    secrets: 0,
    keys: 0,
    settings: 0,
    revocations: 0,
    audit: 0,
  };
  for (const setting of await source.listSettings()) {
    await target.setSetting(setting.name, setting.value);
    counts.settings += 1;
  }
  // Issue 21: every tenant row, then each tenant's keys, clients and revocations in its scope.
  const tenants = await source.listTenants();
  for (const tenant of tenants) await target.createTenant(tenant);
  for (const scope of [undefined, ...tenants.map((tenant) => tenant.name)]) {
    const from = scope === undefined ? source : source.forTenant(scope);
    const to = scope === undefined ? target : target.forTenant(scope);
    for (const key of await from.listKeys()) {
      await to.insertKey(key);
      counts.keys += 1;
    }
    for (const client of await from.listClients()) {
      await to.createClient(client);
      counts.clients += 1;
      counts.secrets += client.secrets.length;
    }
    for (const revocation of await from.listRevocations(0)) {
      const { seq: _seq, ...record } = revocation;
      await to.addRevocation(record);
      counts.revocations += 1;
    }
  }
  // The console's operator list goes along; its sessions do not (people sign in again).
  for (const operator of await source.listOperators()) await target.putOperator(operator);
  for (const operator of await source.listTenantOperators())
    await target.putTenantOperator(operator);
  for (const scope of [undefined, ...tenants.map((tenant) => tenant.name)]) {
    const from = scope === undefined ? source : source.forTenant(scope);
    const to = scope === undefined ? target : target.forTenant(scope);
    const audit = await from.listAudit(auditLimit);
    for (const { id: _id, ...entry } of audit.reverse()) {
      await to.appendAudit(entry);
      counts.audit += 1;
    }
  }
  return counts;
}
