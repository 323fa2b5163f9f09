/** The scope that opens the whole admin API (`/admin/v1`). */
export const adminScope = 'tessera:admin';

/** Every scope that opens the admin API, for one role each (endpoints/admin/admin-roles.ts). */
export const adminScopes: readonly string[] = [
  adminScope,
  'tessera:admin:write',
  'tessera:admin:read',
];

export const isAdminScope = (scope: string): boolean => adminScopes.includes(scope);

/**
 * The audience (`aud`) of admin API tokens: `<issuer>/admin`. The admin API accepts a token
 * only when its `aud` contains this value, so a `tessera:admin` token minted for another
 * resource (say a partner's API, which could replay it) is refused there.
 *
 * Tokens get it without asking: a token request granted an admin scope that names
 * no `resource`/`audience` is minted for this audience alone (not the client's registered
 * audiences, not the default audience). A client with an admin scope may also ask
 * for it explicitly with `resource=<issuer>/admin`.
 */
export function adminAudience(issuer: string): string {
  return `${issuer}/admin`;
}
