/**
 * The claims of a verified access token (RFC 9068 §2.2), plus whatever else it carries.
 * The verifier requires every member typed here except `nbf` and `scope`.
 */
export interface AccessTokenPayload {
  readonly iss: string;
  readonly sub: string;
  readonly aud: string | readonly string[];
  readonly exp: number;
  readonly iat: number;
  readonly jti: string;
  readonly client_id: string;
  readonly nbf?: number;
  readonly scope?: string;
  readonly [claim: string]: unknown;
}
