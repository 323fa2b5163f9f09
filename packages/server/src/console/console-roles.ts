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

/** The strongest role the person's groups map to (`--console-role GROUP=ROLE`). */
export function groupRole(
  config: RoleConfig,
  claims: Record<string, unknown>,
): AdminRole | undefined {
  const mapping = new Map(config.consoleRoles);
  const roles: AdminRole[] = [];
  for (const group of claimValues(claims, config.consoleOidcRolesClaim)) {
    const role = mapping.get(group);
    if (role) roles.push(role);
  }
  return strongestRole(roles);
}

/** The role Tessera's own list (`tessera operators add`) gives `email`, if any. */
export async function listedRole(
  store: Pick<Store, 'getOperator'>,
  email: string,
): Promise<AdminRole | undefined> {
  const listed = await store.getOperator(email);
  return listed && isAdminRole(listed.role) ? listed.role : undefined;
}

/** A person's role and where it came from, so a session can follow changes to the list. */
export interface PersonRole {
  role: AdminRole | undefined;
  groupRole: AdminRole | undefined;
  /** The verified email the operator list is looked up by; undefined when it cannot count. */
  listedEmail: string | undefined;
}

/**
 * A person's role: the strongest of what their groups map to (`--console-role GROUP=ROLE`
 * over the `--console-oidc-roles-claim` claim) and what Tessera's own list gives their email
 * (`tessera operators add`), which counts only when the provider says the email is verified.
 * An undefined role: the person is refused at sign-in.
 */
export async function roleOfPerson(
  config: RoleConfig,
  store: Pick<Store, 'getOperator'>,
  claims: Record<string, unknown>,
): Promise<PersonRole> {
  const fromGroups = groupRole(config, claims);
  const listedEmail =
    typeof claims.email === 'string' && claims.email_verified === true
      ? claims.email.toLowerCase()
      : undefined;
  const fromList = listedEmail === undefined ? undefined : await listedRole(store, listedEmail);
  return {
    role: strongestRole([fromGroups, fromList].filter((role) => role !== undefined)),
    groupRole: fromGroups,
    listedEmail,
  };
}
