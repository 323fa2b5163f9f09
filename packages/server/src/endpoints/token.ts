import { OAuthError, type TokenResponse } from '@tessera/protocol';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { IncomingMessage } from 'node:http';
import { presentedCredentials } from '../client-auth/authenticate-client.js';
import { ClientAuthError } from '../client-auth/failure-reasons.js';
import type { TesseraContext } from '../context.js';
import { clientCredentials, clientCredentialsGrant } from '../grants/client-credentials.js';
import { noStoreHeaders } from '../http/error-reply.js';
import type { BodyType, Params } from '../http/parse-params.js';
import { checkPresetParams } from '../presets/check-params.js';
import { ParameterError } from '../presets/parameter-error.js';
import { isRfcCompatible, type Preset } from '../presets/preset.js';
import { tokenPath } from './discovery.js';
import { senderBinding, tokenTransport, type TokenTransport } from '../dpop/sender-binding.js';

/** Parameters RFC 6749 §2.3.1 forbids in the request URI. */
const credentialParams = [
  'client_id',
  'client_secret',
  'client_assertion',
  'client_assertion_type',
];

/** A token response and the client it was issued to (for metrics). */
export interface IssuedToken {
  response: TokenResponse;
  clientId: string;
}

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
): Promise<IssuedToken> {
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
    throw new ClientAuthError('method_not_allowed', {
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
  return { response, clientId: client.clientId };
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

/** A path the token endpoint answers at, and the dialect it answers in there. */
export interface TokenRoute {
  path: string;
  /** Shapes errors and restricts methods and body types; RFC 6749 as written when absent. */
  preset: Preset | undefined;
  /** Body types the path accepts; every type `parseParams` knows when absent. */
  bodyTypes: readonly BodyType[] | undefined;
}

/**
 * The token endpoint's paths: the RFC one, and a preset's own when it has one. A preset whose
 * token path is the RFC one (Treezor) shares that route, allowed only when it behaves as
 * RFC 6749 there, so RFC paths keep RFC behaviour and errors.
 */
export function tokenRoutes(preset: Preset | undefined): TokenRoute[] {
  const route = (path: string, dialect: Preset | undefined): TokenRoute => ({
    path,
    preset: dialect,
    bodyTypes: dialect?.bodyTypes,
  });
  if (!preset) return [route(tokenPath, undefined)];
  if (preset.tokenPath !== tokenPath)
    return [route(tokenPath, undefined), route(preset.tokenPath, preset)];
  if (!isRfcCompatible(preset)) {
    throw new Error(
      `preset ${preset.name} serves ${tokenPath}, the RFC token path, but differs from RFC 6749 there`,
    );
  }
  return [route(tokenPath, preset)];
}

/**
 * Everything the token endpoint does once the body is parsed; the Fastify route and the
 * node:http fast path (token-listener.ts) both answer through it.
 */
export async function answerTokenRequest(
  context: TesseraContext,
  route: TokenRoute,
  request: IncomingMessage,
  params: Params,
): Promise<IssuedToken> {
  const syncing = context.syncChanges();
  if (syncing) await syncing;
  return issueToken(
    context,
    route.preset,
    request.headers.authorization,
    params,
    request.socket.remoteAddress,
    tokenTransport(context, request, route.path),
  );
}

/** Mounts the token endpoint at `route.path`. */
export function registerTokenEndpoint(
  app: FastifyInstance,
  context: TesseraContext,
  route: TokenRoute,
): void {
  app.post(
    route.path,
    {
      config: { preset: route.preset, bodyTypes: route.bodyTypes },
      schema: { response: tokenResponseSchema },
    },
    async (request, reply) => {
      rejectCredentialsInQuery(request);
      const params = (request.body as Params | undefined) ?? new Map<string, string>();
      const { response } = await answerTokenRequest(context, route, request.raw, params);
      return reply.headers(noStoreHeaders).send(response);
    },
  );
}
