import { OAuthError } from '@tessera/protocol';
import type { FastifyInstance } from 'fastify';
import { authenticateRequest } from '../client-auth/authenticate-request.js';
import type { TesseraContext } from '../context.js';
import { noStoreHeaders } from '../http/error-reply.js';
import type { Params } from '../http/parse-params.js';
import type { Preset, PresetRevoke } from '../presets/preset.js';
import { registerMethodNotAllowed } from './method-not-allowed.js';
import { revokeToken } from './revoke.js';

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
export function registerPresetRevokeEndpoint(
  app: FastifyInstance,
  context: TesseraContext,
  preset: Preset,
  revoke: PresetRevoke,
): void {
  app.post(
    revoke.path,
    { config: { preset, bodyTypes: ['json'] } },
    async function presetRevoke(request, reply) {
      checkHeaders(revoke, request.headers);
      const params = (request.body as Params | undefined) ?? new Map<string, string>();
      const caller = await authenticateRequest(context, request, params, { bodyOnly: true });
      await revokeToken(context, caller, params);
      return reply.code(200).headers(noStoreHeaders).send(revoke.okBody);
    },
  );
  registerMethodNotAllowed(app, revoke.path, 'POST', preset);
}
