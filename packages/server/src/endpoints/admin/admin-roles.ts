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
  /**
   * The role the caller holds across the deployment (a person's from the deployment-wide
   * list or a `GROUP=ROLE` mapping; an admin client's from its scope, limited to its `tenant`
   * when it has one). Undefined: a person whose roles are all on single tenants.
   */
  role: AdminRole | undefined;
  /**
   * Issue 21: a person's roles on single tenants (`operators add --tenant`,
   * `--console-role GROUP=ROLE@TENANT`), by tenant name; each counts on that tenant's admin
   * routes only, besides `role`.
   */
  tenantRoles?: Readonly<Record<string, AdminRole>> | undefined;
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

/** A tenant's name in a role check; undefined: the deployment's routes. */
type RoleScope = { tenant: string | undefined } | 'any';

/**
 * The role `caller` holds where a route is for: on `tenant`'s admin routes its deployment-wide
 * role or its role on that tenant, whichever is stronger; on the deployment's routes
 * (`tenant` undefined, or the default tenant, whose routes those are) the deployment-wide role
 * only; with `any`, its strongest role anywhere. An admin client's role is its scope's
 * everywhere: which tenant it reaches is the tenant check's (admin-tenants.ts), as before.
 */
export function roleIn(caller: AdminCaller, scope: RoleScope): AdminRole | undefined {
  if (caller.tenant !== undefined) return caller.role;
  const tenantRoles = caller.tenantRoles ?? {};
  const onTenant =
    scope === 'any'
      ? Object.values(tenantRoles)
      : scope.tenant === undefined || !Object.hasOwn(tenantRoles, scope.tenant)
        ? []
        : [tenantRoles[scope.tenant]!];
  return strongestRole([...(caller.role ? [caller.role] : []), ...onTenant]);
}

/**
 * The tenants besides default whose records and routes `caller` may see: every one (`all`)
 * for a deployment-wide caller, else its own (an admin client's tenant, a person's tenants).
 */
export function visibleTenants(caller: AdminCaller | undefined): 'all' | ReadonlySet<string> {
  if (caller === undefined) return 'all';
  if (caller.tenant !== undefined) return new Set([caller.tenant]);
  if (caller.role !== undefined) return 'all';
  return new Set(Object.keys(caller.tenantRoles ?? {}));
}

/**
 * The authorization step, after authentication: refuses with 403 `insufficient_scope` naming
 * the missing role (and, for a token, the scope that grants it, RFC 6750 §3.1). `where` says
 * whose role counts (the route's tenant, {@link roleIn}). With
 * `requireAcr`, `admin` actions of a person need an ID token with that `acr` (step-up).
 */
export function authorizeRole(
  caller: AdminCaller,
  needed: AdminRole,
  requireAcr?: string | undefined,
  where: RoleScope = { tenant: undefined },
): void {
  const held = roleIn(caller, where);
  if (held === undefined || !roleIncludes(held, needed)) {
    const scope = roleScopes[needed];
    const has =
      held !== undefined
        ? held
        : typeof where === 'object' && where.tenant !== undefined
          ? `no role on tenant ${where.tenant}`
          : 'no role outside its tenants';
    throw new OAuthError(
      'insufficient_scope',
      `This needs the ${needed} role (scope ${scope}); the caller has ${has}`.replace(
        /[^\x20-\x21\x23-\x5b\x5d-\x7e]/g,
        '?',
      ),
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
