import { OAuthError, type TokenResponse } from '@tessera/protocol';
import type { IncomingMessage } from 'node:http';
import { presentedCredentials } from '../client-auth/authenticate-client.js';
import { basicRealm, ClientAuthError } from '../client-auth/failure-reasons.js';
import type { TesseraContext } from '../context.js';
import type { ClientRecord } from '../store/contract.js';
import { clientCredentials, clientCredentialsGrant } from '../grants/client-credentials.js';
import { noStoreHeaders } from '../http/error-reply.js';
import type { Params } from '../http/parse-params.js';
import { checkPresetParams } from '../presets/check-params.js';
import { ParameterError } from '../presets/parameter-error.js';
import { isRfcCompatible, type Preset } from '../presets/preset.js';
import { keyStoreUnavailable } from '../keys/key-store.js';
import { TokenReuse } from '../tokens/token-reuse.js';
import { tokenPath } from './discovery.js';
import { addExtraClaims } from '../claims/extra-claims.js';
import { applyHookChanges, type TokenHook } from '../claims/token-hook.js';
import { requestIdOf } from '../http/request-id.js';
import type { senderBinding, TokenTransport } from '../dpop/sender-binding.js';
import { json, object, ref, str, type Answer, type Endpoint } from './endpoint.js';
import { effectiveProfile } from '../profiles/fapi2.js';

/** What the token endpoint uses of the context. */
export interface TokenDeps extends Pick<
  TesseraContext,
  | 'authenticator'
  | 'secretUsage'
  | 'nowSeconds'
  | 'syncChanges'
  | 'quotas'
  | 'tokenReuse'
  | 'tenant'
> {
  config: Pick<
    TesseraContext['config'],
    | 'issuer'
    | 'defaultAudience'
    | 'defaultTokenTtl'
    | 'signingAlg'
    | 'scopeClaims'
    | 'reuseTokens'
    | 'profile'
    | 'fapiMaxTokenLifetime'
  >;
  revocations: Pick<TesseraContext['revocations'], 'has'>;
  /** Asked before each token is signed (issue 19); undefined when none is configured. */
  tokenHook: TokenHook | undefined;
  keys: Pick<TesseraContext['keys'], 'signer'>;
  /** The request's sender facts: client certificate, DPoP proof, htu. */
  transport(request: IncomingMessage, path: string): TokenTransport;
  /** Binds the token to the DPoP key or certificate the request came with. */
  bind: (client: ClientRecord, transport: TokenTransport) => ReturnType<typeof senderBinding>;
  /** The address failures are counted against (the peer, or behind a trusted proxy its client). */
  sourceAddress(request: IncomingMessage): string | undefined;
}

/** Parameters RFC 6749 §2.3.1 forbids in the request URI. */
const credentialParams = [
  'client_id',
  'client_secret',
  'client_assertion',
  'client_assertion_type',
];

/**
 * RFC 6749 §4.4.2–§5: checks the request, authenticates the client, issues a signed
 * RFC 9068 access token, answered as the token endpoint answers it (the token listener too).
 */
async function issueToken(
  context: TokenDeps,
  preset: Preset | undefined,
  authorization: string | undefined,
  params: Params,
  sourceAddress: string | undefined,
  transport: TokenTransport,
  request: IncomingMessage,
): Promise<Answer> {
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
  const credentials = presentedCredentials(authorization, params, transport.certificate);
  if (preset && !(preset.authMethods as readonly string[]).includes(credentials.method)) {
    throw new ClientAuthError('method_not_allowed', {
      detail: `preset ${preset.name} does not accept ${credentials.method}`,
      headers:
        credentials.method === 'client_secret_basic' ? { 'www-authenticate': basicRealm } : {},
    });
  }
  if (preset) checkPresetParams(preset, params);
  const { client, secretId } = await context.authenticator.authenticate(credentials, sourceAddress);
  if (secretId !== undefined)
    context.secretUsage.record(client.clientId, secretId, context.nowSeconds());
  const binding = await context.bind(client, transport);
  const defaultTokenTtl = preset?.defaultTokenTtl ?? context.config.defaultTokenTtl;
  // FAPI 2.0 (issue 25): lifetimes past --fapi-max-token-lifetime are shortened to it.
  const ttlCap =
    effectiveProfile(context.config, client) === 'fapi2'
      ? context.config.fapiMaxTokenLifetime
      : undefined;
  const grant = clientCredentials(
    ttlCap === undefined
      ? client
      : { ...client, tokenTtl: Math.min(client.tokenTtl ?? defaultTokenTtl, ttlCap) },
    params,
    {
      issuer: context.config.issuer,
      defaultAudience: context.config.defaultAudience ?? context.config.issuer,
      defaultTokenTtl,
      nowSeconds: context.nowSeconds(),
    },
  );
  if (binding.cnf) grant.claims.cnf = binding.cnf;
  const signer = context.keys.signer(context.config.signingAlg);
  if (!signer)
    throw new OAuthError('temporarily_unavailable', 'No signing key is active', { status: 503 });
  const hook = context.tokenHook;
  if (hook === undefined) {
    addExtraClaims(grant.claims, grant.scope, client.claims, context.config.scopeClaims);
  } else {
    let changes = hook.ask({
      client,
      scope: grant.scope,
      scopeText: grant.claims.scope,
      aud: grant.claims.aud,
      binding: binding.cnf,
      sourceAddress,
      requestId: requestIdOf(request),
      tenant: context.tenant,
    });
    if (changes instanceof Promise) changes = await changes;
    if (changes !== undefined) applyHookChanges(grant, changes);
    const { scopeClaims } = context.config;
    addExtraClaims(grant.claims, grant.scope, client.claims, scopeClaims, changes?.claims);
  }
  // Issue 22: counted only now, after every check that can refuse (the hook's included);
  // given back on failure.
  const admitted = context.quotas.admit(client);
  const ticket = admitted instanceof Promise ? await admitted : admitted;
  try {
    // Looked up with the final scope and audience (after the hook); a reused token carries
    // the claims it was signed with.
    const reuse = client.reuseTokens || context.config.reuseTokens;
    const reuseKey = reuse ? TokenReuse.key(client.clientId, grant.claims, binding.tokenType) : '';
    const reused = reuse
      ? context.tokenReuse.find(reuseKey, grant.claims.iat, client.updatedAt, (jti) =>
          context.revocations.has(jti),
        )
      : undefined;
    let accessToken: string;
    let expiresIn = grant.expiresIn;
    if (reused) {
      accessToken = reused.accessToken;
      expiresIn = reused.expiresIn;
    } else {
      accessToken = await signer.sign(grant.claims).catch(keyStoreUnavailable);
      if (reuse) context.tokenReuse.remember(reuseKey, accessToken, grant.claims, client.updatedAt);
    }
    const response: TokenResponse = {
      access_token: accessToken,
      token_type: binding.tokenType,
      expires_in: expiresIn,
    };
    if (grant.claims.scope !== undefined) response.scope = grant.claims.scope;
    const headers =
      binding.nonce === undefined
        ? noStoreHeaders
        : { ...noStoreHeaders, 'dpop-nonce': binding.nonce };
    return { status: 200, headers, body: response, clientId: client.clientId };
  } catch (error) {
    context.quotas.refund(ticket);
    throw error;
  }
}

/** The token request's parameters (RFC 6749 §4.4.2, §2.3.1; RFC 7521; RFC 8707). */
const tokenRequest = object(
  { grant_type: { const: clientCredentialsGrant } },
  {
    scope: { ...str, description: 'Space-delimited scopes' },
    resource: { ...str, format: 'uri', description: 'RFC 8707 resource indicator' },
    audience: { ...str, description: 'Alias of resource' },
    client_id: str,
    client_secret: { ...str, description: 'client_secret_post (RFC 6749 §2.3.1)' },
    client_assertion: { ...str, description: 'private_key_jwt (RFC 7523 §2.2)' },
    client_assertion_type: { const: 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer' },
  },
);

/**
 * The token endpoint at the RFC path, and at a preset's own path when it has one. A preset
 * whose token path is the RFC one (Treezor) shares that route, allowed only when it behaves as
 * RFC 6749 there, so RFC paths keep RFC behaviour and errors.
 */
export function tokenEndpoints(deps: TokenDeps, preset: Preset | undefined): Endpoint[] {
  if (!preset) return [tokenEndpoint(deps, tokenPath, undefined)];
  if (preset.tokenPath !== tokenPath)
    return [
      tokenEndpoint(deps, tokenPath, undefined),
      tokenEndpoint(deps, preset.tokenPath, preset),
    ];
  if (!isRfcCompatible(preset)) {
    throw new Error(
      `preset ${preset.name} serves ${tokenPath}, the RFC token path, but differs from RFC 6749 there`,
    );
  }
  return [tokenEndpoint(deps, tokenPath, preset)];
}

function tokenEndpoint(deps: TokenDeps, path: string, preset: Preset | undefined): Endpoint {
  return {
    method: 'POST',
    paths: [path],
    summary:
      path === tokenPath
        ? 'Issue an access token (client credentials grant, RFC 6749 §4.4)'
        : `Issue an access token in ${preset?.name ?? 'a provider'}'s dialect`,
    caller: 'client',
    body: 'params',
    bodyTypes: preset?.bodyTypes,
    preset,
    kind: 'token',
    request: {
      body: tokenRequest,
      headers: { DPoP: { ...str, description: 'RFC 9449 DPoP proof' } },
    },
    responses: {
      200: json('Token issued', ref('TokenResponse')),
      400: 'invalid_request, unsupported_grant_type, unauthorized_client, invalid_scope, invalid_target',
      401: 'invalid_client',
      429: 'temporarily_unavailable: the client token quota is used up (Retry-After, RateLimit-Policy, RateLimit)',
    },
    // The token listener calls this too: no allocation or await beyond what issuing needs.
    async handle(request) {
      const query = request.query;
      if (query !== undefined && credentialParams.some((name) => name in query)) {
        throw new OAuthError(
          'invalid_request',
          'Client credentials must not be sent in the URL query',
        );
      }
      const syncing = deps.syncChanges();
      if (syncing) await syncing;
      const { raw } = request;
      return issueToken(
        deps,
        preset,
        raw.headers.authorization,
        request.params ?? new Map<string, string>(),
        deps.sourceAddress(raw),
        deps.transport(raw, path),
        raw,
      );
    },
  };
}
