/** RFC 6749 §5.1 successful token response, as Tessera sends it. */
export interface TokenResponse {
  access_token: string;
  token_type: 'Bearer' | 'DPoP';
  expires_in: number;
  scope?: string;
}

/** RFC 6749 §5.2 error response body. */
export interface ErrorResponse {
  error: string;
  error_description?: string;
  error_uri?: string;
}

/** RFC 9068 §2.2 JWT access token claims issued by Tessera. */
export interface AccessTokenClaims {
  iss: string;
  sub: string;
  aud: string | string[];
  exp: number;
  iat: number;
  jti: string;
  client_id: string;
  scope?: string;
  cnf?: { 'x5t#S256'?: string; jkt?: string };
}

/** RFC 7662 §2.2 introspection response. */
export type IntrospectionResponse =
  { active: false } | ({ active: true; token_type: 'Bearer' | 'DPoP' } & AccessTokenClaims);

/** RFC 8414 §2 authorization server metadata (the subset Tessera publishes). */
export interface AuthorizationServerMetadata {
  issuer: string;
  token_endpoint: string;
  jwks_uri: string;
  grant_types_supported: string[];
  response_types_supported: string[];
  token_endpoint_auth_methods_supported: string[];
  scopes_supported?: string[];
  revocation_endpoint?: string;
  revocation_endpoint_auth_methods_supported?: string[];
  revocation_endpoint_auth_signing_alg_values_supported?: string[];
  introspection_endpoint?: string;
  introspection_endpoint_auth_methods_supported?: string[];
  introspection_endpoint_auth_signing_alg_values_supported?: string[];
  /** Not registered by RFC 8414; names the JWS algorithms access tokens are signed with. */
  access_token_signing_alg_values_supported?: string[];
  [extension: string]: unknown;
}

/** Client authentication methods (RFC 7591 §2 `token_endpoint_auth_method` values). */
export type ClientAuthMethod =
  | 'client_secret_basic'
  | 'client_secret_post'
  | 'private_key_jwt'
  | 'tls_client_auth'
  | 'self_signed_tls_client_auth';

/** Signing algorithms Tessera can issue access tokens with. */
export type SigningAlgorithm = 'RS256' | 'PS256' | 'ES256' | 'EdDSA';
export const signingAlgorithms: readonly SigningAlgorithm[] = ['RS256', 'PS256', 'ES256', 'EdDSA'];

/** RFC 9068 §2.1 media type of JWT access tokens, as it appears in `typ`. */
export const accessTokenType = 'at+jwt';

/** RFC 7523 §2.2 `client_assertion_type` of a `private_key_jwt` client assertion. */
export const jwtBearerAssertionType = 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer';
