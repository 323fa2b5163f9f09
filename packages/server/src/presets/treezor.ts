import { treezorProvider } from '@tessera/protocol';
import type { Preset } from './preset.js';

/**
 * Treezor ("Authentication"): `POST /oauth/token` — the RFC path, so the preset shares the RFC
 * route — with `--form` (multipart), urlencoded (its PHP example) or JSON (its axios example)
 * bodies; `client_id`/`client_secret` in the body, optional space-separated `scope`
 * (`admin read_all`); 1-hour tokens and no refresh token for client_credentials. Its
 * documented answers are RFC 6749's, so errors stay RFC. Treezor's mutual TLS is the
 * deployment's business (a TLS-terminating proxy), not Tessera's.
 */
export const treezor: Preset = {
  name: treezorProvider.name,
  tokenPath: treezorProvider.tokenPath,
  authMethods: ['client_secret_post', 'client_secret_basic'],
  bodyTypes: ['multipart', 'urlencoded', 'json'],
  requiredParams: [],
  defaultTokenTtl: 3600,
};
