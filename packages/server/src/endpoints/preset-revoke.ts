import { OAuthError } from '@tessera/protocol';
import { noStoreHeaders } from '../http/error-reply.js';
import type { Preset, PresetRevoke } from '../presets/preset.js';
import { json, object, str } from './endpoint.js';
import type { AuthenticateClient, Endpoint } from './endpoint.js';
import { revokeToken, type RevokeDeps } from './revoke.js';

function checkHeaders(revoke: PresetRevoke, headers: Record<string, unknown>): void {
  for (const [name, pattern] of Object.entries(revoke.requiredHeaders)) {
    const value = headers[name];
    if (typeof value !== 'string' || !pattern.test(value)) {
      throw new OAuthError('invalid_request', `The ${name} header is missing or malformed`);
    }
  }
}

/**
 * A provider's own revocation call (Tesouro's `POST /v1/auth/revoke`): the same RFC 7009
 * semantics as `/oauth/revoke` — only the caller's own tokens, unknown or expired tokens
 * succeed silently — in the provider's wire shape. `json-credentials` reads the client's
 * credentials from the JSON body only; an Authorization header is not consulted.
 */
export function presetRevokeEndpoint(
  deps: RevokeDeps,
  authenticate: AuthenticateClient,
  preset: Preset,
  revoke: PresetRevoke,
): Endpoint {
  return {
    method: 'POST',
    paths: [revoke.path],
    summary: `Revoke an access token in ${preset.name}'s dialect (RFC 7009 semantics)`,
    caller: 'client',
    body: 'params',
    bodyTypes: ['json'],
    preset,
    kind: 'revoke',
    request: {
      body: object({ client_id: str, client_secret: str, token: str }),
      headers: Object.fromEntries(
        Object.entries(revoke.requiredHeaders).map(([name, pattern]) => [
          name,
          { ...str, pattern: pattern.source },
        ]),
      ),
    },
    responses: {
      200: json('Revoked, or nothing to revoke', { const: revoke.okBody }),
      400: 'invalid_request',
      401: 'invalid_client',
    },
    async handle(request) {
      checkHeaders(revoke, request.raw.headers);
      const params = request.params!;
      const caller = await authenticate(request, params, { bodyOnly: true });
      await revokeToken(deps, caller, params);
      return { status: 200, headers: noStoreHeaders, body: revoke.okBody };
    },
  };
}
