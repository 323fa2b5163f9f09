import { tesouroProvider } from '@tessera/protocol';
import type { Preset } from './preset.js';

/**
 * Tesouro ("Client credentials authentication"): `POST /openid/connect/token`, urlencoded
 * `grant_type`, `client_id`, `client_secret`; `expires_in` 3600. Revocation is
 * `POST /v1/auth/revoke` with a JSON body `{client_id, client_secret, token}` and an
 * `X-Finops-Version: 2025-06-23` header, answering `{"message":"ok"}` (the guide's prose says
 * `/auth/revoke`, its request `/v1/auth/revoke`: the request wins).
 *
 * Token endpoint errors are not documented, so they stay RFC 6749 §5.2; so does HTTP Basic,
 * which §2.3.1 requires servers to support. The expired-token answer of Tesouro's API is the
 * verifier's `tesouroErrorShape`.
 */
export const tesouro: Preset = {
  name: tesouroProvider.name,
  tokenPath: tesouroProvider.tokenPath,
  authMethods: ['client_secret_post', 'client_secret_basic'],
  bodyTypes: ['urlencoded'],
  requiredParams: [],
  defaultTokenTtl: 3600,
  hosts: tesouroProvider.hosts,
  revoke: {
    path: tesouroProvider.revoke.path,
    bodyShape: 'json-credentials',
    requiredHeaders: { 'x-finops-version': /^\d{4}-\d{2}-\d{2}$/ },
    okBody: { message: 'ok' },
  },
};
