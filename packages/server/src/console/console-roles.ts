import type { ServerConfig } from '../config.js';
import { isAdminRole, strongestRole, type AdminRole } from '../endpoints/admin/admin-roles.js';
import type { Store } from '../store/contract.js';

type RoleConfig = Pick<ServerConfig, 'consoleOidcRolesClaim' | 'consoleRoles'>;
type OperatorLists = Pick<Store, 'getOperator' | 'tenantRolesOf'>;

/**
 * What a person may do (issue 21): a deployment-wide role (every tenant, like the default
 * tenant's admin clients) and roles on single tenants, by tenant name. Either may be absent.
 */
export interface Roles {
  role: AdminRole | undefined;
  tenantRoles: Record<string, AdminRole>;
}

export const noRoles = (): Roles => ({ role: undefined, tenantRoles: {} });

/** Whether `roles` give any role at all (none: the person is refused, or their session ends). */
export const hasAnyRole = (roles: Roles): boolean =>
  roles.role !== undefined || Object.keys(roles.tenantRoles).length > 0;

/** The strongest of each: the deployment-wide roles, and the roles on each tenant. */
export function combineRoles(...all: Roles[]): Roles {
  const tenantRoles: Record<string, AdminRole> = {};
  for (const { tenantRoles: some } of all)
    for (const [tenant, role] of Object.entries(some))
      tenantRoles[tenant] = strongestRole([
        role,
        ...(tenantRoles[tenant] ? [tenantRoles[tenant]] : []),
      ])!;
  return {
    role: strongestRole(all.map((roles) => roles.role).filter((role) => role !== undefined)),
    tenantRoles,
  };
}

/** The values of the roles claim: a list of strings, or one string. */
function claimValues(claims: Record<string, unknown>, name: string): string[] {
  const value = claims[name];
  if (typeof value === 'string') return [value];
  if (Array.isArray(value)) return value.filter((item): item is string => typeof item === 'string');
  return [];
}

/**
 * The roles the person's groups map to (`--console-role GROUP=ROLE`, and `GROUP=ROLE@TENANT`
 * for one tenant): the strongest for the deployment and for each tenant. The last mapping of a
 * group (on a tenant) wins, as the option documents.
 */
export function groupRoles(config: RoleConfig, claims: Record<string, unknown>): Roles {
  const held = new Set(claimValues(claims, config.consoleOidcRolesClaim));
  // One role per (tenant, group), the last mapping's: keyed `TENANT\0GROUP` (a tenant name
  // never holds a NUL, and '' is no tenant's, so the key cannot be ambiguous).
  const mapped = new Map<string, Roles>();
  for (const [group, role, tenant] of config.consoleRoles) {
    if (!held.has(group)) continue;
    mapped.set(
      `${tenant ?? ''}\u0000${group}`,
      tenant === undefined
        ? { role, tenantRoles: {} }
        : { role: undefined, tenantRoles: { [tenant]: role } },
    );
  }
  return combineRoles(...mapped.values());
}

/**
 * The roles Tessera's own lists give `email`: `tessera operators add` (deployment-wide) and
 * `tessera operators add --tenant NAME` (that tenant).
 */
export async function listedRoles(store: OperatorLists, email: string): Promise<Roles> {
  const [listed, onTenants] = await Promise.all([
    store.getOperator(email),
    store.tenantRolesOf(email),
  ]);
  const tenantRoles: Record<string, AdminRole> = {};
  for (const row of onTenants) if (isAdminRole(row.role)) tenantRoles[row.tenant] = row.role;
  return { role: listed && isAdminRole(listed.role) ? listed.role : undefined, tenantRoles };
}

/** A person's roles and where they came from, so a session can follow changes to the lists. */
export interface PersonRole extends Roles {
  /** What the groups gave (kept in the session: the ID token is not read again). */
  groups: Roles;
  /** The verified email the operator lists are looked up by; undefined when it cannot count. */
  listedEmail: string | undefined;
}

/**
 * A person's roles: the strongest of what their groups map to (`--console-role` over the
 * `--console-oidc-roles-claim` claim) and what Tessera's own lists give their email
 * (`tessera operators add [--tenant]`), which counts only when the provider says the email
 * is verified. No role at all: the person is refused at sign-in.
 */
export async function roleOfPerson(
  config: RoleConfig,
  store: OperatorLists,
  claims: Record<string, unknown>,
): Promise<PersonRole> {
  const groups = groupRoles(config, claims);
  const listedEmail =
    typeof claims.email === 'string' && claims.email_verified === true
      ? claims.email.toLowerCase()
      : undefined;
  const listed = listedEmail === undefined ? noRoles() : await listedRoles(store, listedEmail);
  return { ...combineRoles(groups, listed), groups, listedEmail };
}
