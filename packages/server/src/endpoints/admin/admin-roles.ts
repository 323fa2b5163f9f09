import { OAuthError } from '@tessera/protocol';
import type { AuditPerson } from '../../store/contract.js';

/**
 * The admin roles, weakest first: `viewer` reads everything except secrets, `operator` also
 * creates, edits, disables and rotates secrets, `admin` also manages keys and deletes clients.
 * People and machine clients hold the same roles; a machine client's comes from its scope.
 */
export const adminRoles = ['viewer', 'operator', 'admin'] as const;
export type AdminRole = (typeof adminRoles)[number];

/** The access-token scope that grants each role (`tessera:admin` keeps meaning everything). */
export const roleScopes: Readonly<Record<AdminRole, string>> = {
  viewer: 'tessera:admin:read',
  operator: 'tessera:admin:write',
  admin: 'tessera:admin',
};

export const isAdminRole = (value: unknown): value is AdminRole =>
  adminRoles.includes(value as AdminRole);

/** Whether `held` includes everything `needed` may do. */
export const roleIncludes = (held: AdminRole, needed: AdminRole): boolean =>
  adminRoles.indexOf(held) >= adminRoles.indexOf(needed);

/** The strongest of `roles`, or undefined when there is none. */
export function strongestRole(roles: Iterable<AdminRole>): AdminRole | undefined {
  let best: AdminRole | undefined;
  for (const role of roles) if (best === undefined || roleIncludes(role, best)) best = role;
  return best;
}

/** The role a token's scopes grant: the strongest admin scope it carries. */
export const roleOfScopes = (scopes: readonly string[]): AdminRole | undefined =>
  strongestRole(adminRoles.filter((role) => scopes.includes(roleScopes[role])));

/** A person signed in to the console: the ID token's `iss` and `sub` (who), and `email`. */
export type Person = AuditPerson;

/** Who is calling the admin API, as the one admin authentication step found out. */
export interface AdminCaller {
  /** The audit trail's actor: `admin-api:<client_id>` or `person:<email or sub>`. */
  actor: string;
  role: AdminRole;
  /** A machine client's client_id; undefined for a person. */
  clientId?: string | undefined;
  person?: Person | undefined;
  /** The `acr` of the person's ID token (step-up, `--console-require-acr`). */
  acr?: string | undefined;
  /**
   * Issue 21: the tenant whose admin clients issued the caller's token (undefined: the
   * default tenant's, as is every person's); such a caller manages only that tenant.
   */
  tenant?: string | undefined;
  /** Whether the caller came with a bearer token (so a refusal carries the Bearer challenge). */
  bearer: boolean;
}

/**
 * The authorization step, after authentication: refuses with 403 `insufficient_scope` naming
 * the missing role (and, for a token, the scope that grants it, RFC 6750 §3.1). With
 * `requireAcr`, `admin` actions of a person need an ID token with that `acr` (step-up).
 */
export function authorizeRole(
  caller: AdminCaller,
  needed: AdminRole,
  requireAcr?: string | undefined,
): void {
  if (!roleIncludes(caller.role, needed)) {
    const scope = roleScopes[needed];
    throw new OAuthError(
      'insufficient_scope',
      `This needs the ${needed} role (scope ${scope}); the caller has ${caller.role}`,
      {
        status: 403,
        ...(caller.bearer
          ? {
              headers: {
                'www-authenticate': `Bearer realm="tessera-admin", error="insufficient_scope", scope="${scope}"`,
              },
            }
          : {}),
      },
    );
  }
  if (needed === 'admin' && requireAcr !== undefined && caller.person && caller.acr !== requireAcr)
    throw new OAuthError(
      'insufficient_scope',
      `This needs the admin role signed in with acr ${requireAcr}; sign in again`,
      { status: 403 },
    );
}
