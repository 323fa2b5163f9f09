import type { ErrorShape } from '../errors.js';

/**
 * Tesouro's dialect: an expired token is answered with HTTP 400 and
 * `{"error":{"message":"The token has been expired."}}` (Tesouro's client-credentials guide,
 * "Handle token expiration"), which Tesouro integrators' clients detect to fetch a new token.
 * Only that case is documented, so every other rejection keeps the RFC 6750 response.
 *
 * @example
 * ```ts
 * createVerifier({ issuer, audience, errorShape: tesouroErrorShape })
 * ```
 */
export const tesouroErrorShape: ErrorShape = (error) => {
  if (error.reason !== 'expired') return error.toResponse();
  return {
    status: 400,
    headers: { 'cache-control': 'no-store', 'content-type': 'application/json' },
    body: { error: { message: 'The token has been expired.' } },
  };
};
