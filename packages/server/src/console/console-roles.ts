import type { ServerConfig } from '../config.js';
import { isAdminRole, strongestRole, type AdminRole } from '../endpoints/admin/admin-roles.js';
import type { Store } from '../store/contract.js';

type RoleConfig = Pick<ServerConfig, 'consoleOidcRolesClaim' | 'consoleRoles'>;

/** The values of the roles claim: a list of strings, or one string. */
function claimValues(claims: Record<string, unknown>, name: string): string[] {
  const value = claims[name];
  if (typeof value === 'string') return [value];
  if (Array.isArray(value)) return value.filter((item): item is string => typeof item === 'string');
  return [];
}

/**
 * A person's role: the strongest of what their groups map to (`--console-role GROUP=ROLE`
 * over the `--console-oidc-roles-claim` claim) and what Tessera's own list gives their email
 * (`tessera operators add`), which counts only when the provider says the email is verified.
 * Undefined: no role, and the person is refused at sign-in.
 */
export async function roleOfPerson(
  config: RoleConfig,
  store: Pick<Store, 'getOperator'>,
  claims: Record<string, unknown>,
): Promise<AdminRole | undefined> {
  const mapping = new Map(config.consoleRoles);
  const roles: AdminRole[] = [];
  for (const group of claimValues(claims, config.consoleOidcRolesClaim)) {
    const role = mapping.get(group);
    if (role) roles.push(role);
  }
  if (typeof claims.email === 'string' && claims.email_verified === true) {
    const listed = await store.getOperator(claims.email.toLowerCase());
    if (listed && isAdminRole(listed.role)) roles.push(listed.role);
  }
  return strongestRole(roles);
}
