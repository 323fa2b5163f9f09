import { isBearerInvalidToken } from './lib/www-authenticate.js';

/**
 * How one provider deviates from plain RFC 6749 on the wire. Presets fill this in; the
 * defaults ({@link rfcDialect}) are the RFCs. Data, plus one predicate.
 */
export interface ProviderDialect {
  /** A label for events and errors (`'rfc6749'`, `'tesouro'`, …). */
  name: string;
  /** Token request body: `urlencoded` (RFC 6749 §4.4.2) or `multipart` (FormData, Treezor). */
  tokenRequestEncoding: 'urlencoded' | 'multipart';
  /**
   * How `client_secret_basic` builds its credential: `form-urlencoded` per RFC 6749 §2.3.1
   * (encode each part, then base64), or `plain` `base64(id:secret)` as some providers document.
   */
  basicCredentialEncoding: 'form-urlencoded' | 'plain';
  /** The provider refuses token requests without `scope` (AstraPay). */
  scopeRequired: boolean;
  /**
   * Whether a resource's answer means "this access token is expired or invalid". Read the body
   * only from `response.clone()`. Default: RFC 6750 §3.1 — 401 with a `Bearer` challenge
   * carrying `error="invalid_token"`.
   */
  isTokenRejected: (response: Response) => boolean | Promise<boolean>;
  /**
   * Revocation call shape: `rfc7009` (urlencoded `token` + `token_type_hint`, client
   * authenticated like at the token endpoint) or `json-credentials` (JSON
   * `{client_id, client_secret, token}`, Tesouro).
   */
  revocationFormat: 'rfc7009' | 'json-credentials';
  /** Extra headers on the revocation call (Tesouro's `X-Finops-Version`). */
  revocationHeaders: Record<string, string>;
  /**
   * How the `audience` option goes out: `resource-if-uri` (default: an absolute URI as RFC
   * 8707 `resource`, anything else as `audience`), or always `audience` for providers that
   * read only that parameter (Auth0-style APIs).
   */
  audienceParameter?: 'resource-if-uri' | 'audience';
}

/** RFC 6750 §3.1 detection: 401 + `WWW-Authenticate: Bearer error="invalid_token"`. */
export function rfc6750TokenRejected(response: Response): boolean {
  return response.status === 401 && isBearerInvalidToken(response.headers.get('www-authenticate'));
}

/** Any 401: for providers whose APIs authenticate only with the bearer token and send no challenge. */
export function anyUnauthorized(response: Response): boolean {
  return response.status === 401;
}

/** The plain RFC behaviour. */
export const rfcDialect: ProviderDialect = Object.freeze({
  name: 'rfc6749',
  tokenRequestEncoding: 'urlencoded',
  basicCredentialEncoding: 'form-urlencoded',
  scopeRequired: false,
  isTokenRejected: rfc6750TokenRejected,
  revocationFormat: 'rfc7009',
  revocationHeaders: {},
});
