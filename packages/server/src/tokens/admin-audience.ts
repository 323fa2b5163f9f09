/** The scope that opens the admin API (`/admin/v1`). */
export const adminScope = 'tessera:admin';

/**
 * The audience (`aud`) of admin API tokens: `<issuer>/admin`. The admin API accepts a token
 * only when its `aud` contains this value, so a `tessera:admin` token minted for another
 * resource (say a partner's API, which could replay it) is refused there.
 *
 * Tokens get it without asking: a token request granted the `tessera:admin` scope that names
 * no `resource`/`audience` is minted for this audience alone (not the client's registered
 * audiences, not the default audience). A client with the `tessera:admin` scope may also ask
 * for it explicitly with `resource=<issuer>/admin`.
 */
export function adminAudience(issuer: string): string {
  return `${issuer}/admin`;
}
