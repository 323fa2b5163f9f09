import { isAdminRole } from '../endpoints/admin/admin-roles.js';
import { openStore, parseDatabaseUrl } from '../store/open-store.js';
import { defaultTenant, isTenantName } from '../tenants/tenant-name.js';
import type { Store } from '../store/contract.js';
import {
  cliActor,
  cliConfig,
  databaseOption,
  parse,
  print,
  printJson,
  tenantOption,
} from './common.js';
import { table } from './output.js';
import { UsageError } from './usage.js';

const iso = (seconds: number) => new Date(seconds * 1000).toISOString();

/**
 * `tessera operators add EMAIL --role ROLE | list | remove EMAIL`: the people Tessera itself
 * gives a console role, by the email their identity provider vouches for (verified emails
 * only). Each change is audited. Issue 21: with `--tenant NAME` the role is on that tenant
 * only (its admin routes), and the change is in the tenant's audit trail; `list` without
 * `--tenant` shows both lists, with a tenant column (`*`: every tenant).
 */
export async function operatorsCommand(args: string[]): Promise<void> {
  const [sub, ...rest] = args;
  if (sub !== 'add' && sub !== 'list' && sub !== 'remove')
    throw new UsageError(
      sub ? `unknown operators command: ${sub}` : 'operators needs a command: add, list or remove',
    );
  const { values, positionals } = parse(rest, {
    ...databaseOption,
    role: { type: 'string' },
    json: { type: 'boolean' },
    ...tenantOption,
  });
  const wanted = sub === 'list' ? 0 : 1;
  if (positionals.length !== wanted)
    throw new UsageError(
      sub === 'list' ? 'operators list takes no arguments' : `operators ${sub} needs EMAIL`,
    );
  const email = positionals[0]?.toLowerCase();
  if (email !== undefined && !/^[^\s@]+@[^\s@]+$/.test(email))
    throw new UsageError(`not an email address: ${JSON.stringify(positionals[0])}`);
  if (sub === 'add' && !isAdminRole(values.role))
    throw new UsageError('operators add needs --role viewer, operator or admin');
  if (sub !== 'add' && values.role !== undefined)
    throw new UsageError(`operators ${sub} takes no --role`);

  const { tenant } = values;
  if (tenant === defaultTenant)
    throw new UsageError(
      "the default tenant's roles are the deployment-wide ones: leave out --tenant default",
    );
  if (tenant !== undefined && !isTenantName(tenant))
    throw new UsageError(`not a tenant name: ${JSON.stringify(tenant.slice(0, 80))}`);

  const store = await openStore(parseDatabaseUrl(cliConfig(values).database));
  try {
    const now = Math.floor(Date.now() / 1000);
    const actor = cliActor();
    if (tenant !== undefined && !(await store.getTenant(tenant)))
      throw new Error(`no tenant named ${JSON.stringify(tenant)}`);
    if (tenant !== undefined || sub === 'list')
      return await tenantOperators(store, sub, {
        tenant,
        email,
        role: values.role,
        now,
        actor,
        json: values.json,
      });
    if (sub === 'add') {
      await store.putOperator({ email: email!, role: values.role!, createdAt: now });
      await store.appendAudit({
        at: now,
        actor,
        action: 'operator.add',
        target: email!,
        details: { role: values.role },
      });
      if (values.json) return printJson({ email, role: values.role });
      return print(`${email} is an operator with the ${values.role} role.`);
    }
    if (!(await store.removeOperator(email!)))
      throw new Error(`${email} is not on the operator list`);
    await store.appendAudit({
      at: now,
      actor,
      action: 'operator.remove',
      target: email!,
      details: {},
    });
    if (values.json) return printJson({ email, removed: true });
    print(`${email} is no longer an operator (sessions already open end by their own timeouts).`);
  } finally {
    await store.close();
  }
}

interface TenantOperatorArgs {
  tenant: string | undefined;
  email: string | undefined;
  role: string | undefined;
  now: number;
  actor: string;
  json: boolean | undefined;
}

/** `operators list [--tenant NAME]`, and `add`/`remove` with `--tenant NAME` (issue 21). */
async function tenantOperators(
  store: Store,
  sub: 'add' | 'list' | 'remove',
  { tenant, email, role, now, actor, json }: TenantOperatorArgs,
): Promise<void> {
  if (sub === 'list') {
    const everywhere = tenant === undefined ? await store.listOperators() : [];
    const rows = [
      ...everywhere.map((operator) => ({ ...operator, tenant: '*' })),
      ...(await store.listTenantOperators(tenant)),
    ].map((operator) => ({
      email: operator.email,
      role: operator.role,
      tenant: operator.tenant,
      created_at: iso(operator.createdAt),
    }));
    if (json) return printJson(rows);
    return print(
      rows.length === 0 ? 'No operators.' : table(rows, ['email', 'role', 'tenant', 'created_at']),
    );
  }
  // Each change is in the tenant's own audit trail.
  const audit = store.forTenant(tenant!);
  if (sub === 'add') {
    await store.putTenantOperator({ tenant: tenant!, email: email!, role: role!, createdAt: now });
    await audit.appendAudit({
      at: now,
      actor,
      action: 'operator.add',
      target: email!,
      details: { role, tenant },
    });
    if (json) return printJson({ email, role, tenant });
    return print(`${email} is an operator of tenant ${tenant} with the ${role} role.`);
  }
  if (!(await store.removeTenantOperator(tenant!, email!)))
    throw new Error(`${email} is not on tenant ${tenant}'s operator list`);
  await audit.appendAudit({
    at: now,
    actor,
    action: 'operator.remove',
    target: email!,
    details: { tenant },
  });
  if (json) return printJson({ email, tenant, removed: true });
  print(`${email} is no longer an operator of tenant ${tenant} (open sessions follow at once).`);
}
