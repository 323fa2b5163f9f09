import { OAuthError, type TokenResponse } from '@tessera/protocol';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { presentedCredentials } from '../client-auth/authenticate-client.js';
import type { TesseraContext } from '../context.js';
import { clientCredentials, clientCredentialsGrant } from '../grants/client-credentials.js';
import { noStoreHeaders } from '../http/error-reply.js';
import type { Params } from '../http/parse-params.js';
import { checkPresetParams } from '../presets/check-params.js';
import { ParameterError } from '../presets/parameter-error.js';
import type { Preset } from '../presets/preset.js';
import { senderBinding, tokenTransport, type TokenTransport } from '../dpop/sender-binding.js';

/** Parameters RFC 6749 §2.3.1 forbids in the request URI. */
const credentialParams = [
  'client_id',
  'client_secret',
  'client_assertion',
  'client_assertion_type',
];

/**
 * RFC 6749 §4.4.2–§5: checks the request, authenticates the client, issues a signed
 * RFC 9068 access token. Plain function over parsed input, so tests and presets share it.
 */
export async function issueToken(
  context: TesseraContext,
  preset: Preset | undefined,
  authorization: string | undefined,
  params: Params,
  sourceAddress?: string,
  transport?: TokenTransport,
): Promise<TokenResponse> {
  const grantType = params.get('grant_type');
  if (grantType === undefined)
    throw new ParameterError(
      'grant_type',
      'invalid_request',
      'The grant_type parameter is missing',
    );
  if (grantType !== clientCredentialsGrant) {
    throw new ParameterError(
      'grant_type',
      'unsupported_grant_type',
      'Only the client_credentials grant is supported',
    );
  }
  const credentials = presentedCredentials(authorization, params, transport?.certificate);
  if (preset && !(preset.authMethods as readonly string[]).includes(credentials.method)) {
    throw new OAuthError('invalid_client', 'Client authentication failed', {
      detail: `preset ${preset.name} does not accept ${credentials.method}`,
      headers:
        credentials.method === 'client_secret_basic'
          ? { 'www-authenticate': 'Basic realm="tessera"' }
          : {},
    });
  }
  if (preset) checkPresetParams(preset, params);
  const { client, secretId } = await context.authenticator.authenticate(credentials, sourceAddress);
  if (secretId !== undefined)
    context.secretUsage.record(client.clientId, secretId, context.nowSeconds());
  const binding = await senderBinding(context, client, transport);
  const grant = clientCredentials(client, params, {
    issuer: context.config.issuer,
    defaultAudience: context.config.defaultAudience ?? context.config.issuer,
    defaultTokenTtl: preset?.defaultTokenTtl ?? context.config.defaultTokenTtl,
    nowSeconds: context.nowSeconds(),
  });
  const signer = context.keys.signer(context.config.signingAlg);
  if (!signer)
    throw new OAuthError('temporarily_unavailable', 'No signing key is active', { status: 503 });
  if (binding.cnf) grant.claims.cnf = binding.cnf;
  const response: TokenResponse = {
    access_token: await signer.sign(grant.claims),
    token_type: binding.tokenType,
    expires_in: grant.expiresIn,
  };
  if (grant.claims.scope !== undefined) response.scope = grant.claims.scope;
  return response;
}

function rejectCredentialsInQuery(request: FastifyRequest): void {
  const query = request.query as Record<string, unknown> | undefined;
  if (query && credentialParams.some((name) => name in query)) {
    throw new OAuthError('invalid_request', 'Client credentials must not be sent in the URL query');
  }
}

const tokenResponseSchema = {
  200: {
    type: 'object',
    properties: {
      access_token: { type: 'string' },
      token_type: { type: 'string' },
      expires_in: { type: 'integer' },
      scope: { type: 'string' },
    },
    required: ['access_token', 'token_type', 'expires_in'],
  },
};

/** Mounts the token endpoint at `path`; errors on it are shaped by `preset` when given. */
export function registerTokenEndpoint(
  app: FastifyInstance,
  context: TesseraContext,
  path: string,
  preset?: Preset,
): void {
  app.post(
    path,
    { config: { preset, bodyTypes: preset?.bodyTypes }, schema: { response: tokenResponseSchema } },
    async (request, reply) => {
      rejectCredentialsInQuery(request);
      const params = (request.body as Params | undefined) ?? new Map<string, string>();
      await context.syncChanges();
      const response = await issueToken(
        context,
        preset,
        request.headers.authorization,
        params,
        request.ip,
        tokenTransport(context, request.raw, path),
      );
      return reply.headers(noStoreHeaders).send(response);
    },
  );
}
