import { OAuthError, type OAuthErrorCode } from '@tessera/protocol';
import { createVerifier, VerifierError, type Verifier } from '@tessera/verifier';
import { decodeJwt } from 'jose';
import type { IncomingMessage } from 'node:http';
import type { TesseraContext } from '../../context.js';
import { requestCertificate } from '../../dpop/sender-binding.js';
import { adminAudience, adminScope } from '../../tokens/admin-audience.js';
import { jwksPath } from '../jwks.js';
import { roleOfScopes, type AdminCaller } from './admin-roles.js';
import { tenantIssuer } from '../../tenants/tenant-config.js';
import { defaultTenant } from '../../tenants/tenant-name.js';

export { adminScope } from '../../tokens/admin-audience.js';
const realm = 'tessera-admin';

/** What the admin hook reads of a request: the raw request (headers, URL, TLS socket). */
export type AdminRequest = Pick<IncomingMessage, 'headers' | 'method' | 'url' | 'socket'>;

type AdminContext = TesseraContext;

// One verifier per context (per process), built on first use.
const verifiers = new WeakMap<AdminContext, Verifier>();

/**
 * Dogfooding: the admin API checks tokens with `@tessera/verifier`, as any resource server
 * would. Its JWKS comes from this process's key ring through an in-process `fetch` (no
 * network); kept one second so a newly published key is seen at once.
 */
function verifierOf(context: AdminContext): Verifier {
  let verifier = verifiers.get(context);
  if (!verifier) {
    const { issuer } = context.config;
    verifier = createVerifier({
      issuer,
      audience: adminAudience(issuer),
      jwksUri: `${issuer}${jwksPath}`,
      fetch: async () =>
        new Response(JSON.stringify(context.keys.jwks), {
          headers: { 'content-type': 'application/json' },
        }),
      now: () => context.nowSeconds() * 1000,
      clockTolerance: 0,
      jwksCooldownMs: 0,
      jwksDefaultMaxAgeMs: 1_000,
      tokenCacheSize: 1_000,
      realm,
      // The token endpoint's DPoP replay guard, shared by the workers (through the primary)
      // and the instances (PostgreSQL or Redis): an admin proof used once is refused at all.
      // The verifier counts in milliseconds, the server's guards in seconds.
      dpopReplayGuard: {
        use: (key, expiresAtMs) =>
          context.replayGuards.dpop.use(`admin:${key}`, Math.ceil(expiresAtMs / 1000)),
      },
    });
    verifiers.set(context, verifier);
  }
  return verifier;
}

// RFC 6750 §3: every refusal carries the Bearer challenge, with the error when there is one.
function refuse(
  code: OAuthErrorCode,
  description: string,
  status?: number,
  params = '',
  detail?: string,
) {
  return new OAuthError(code, description, {
    status,
    headers: { 'www-authenticate': `Bearer realm="${realm}"${params}` },
    ...(detail === undefined ? {} : { detail }),
  });
}

function invalidToken(description: string, detail?: string): OAuthError {
  const params = `, error="invalid_token", error_description="${description}"`;
  return refuse('invalid_token', description, undefined, params, detail);
}

function lacksScope(): OAuthError {
  return refuse(
    'insufficient_scope',
    `The access token lacks the ${adminScope} scope`,
    undefined,
    `, error="insufficient_scope", scope="${adminScope}"`,
  );
}

const hasAdminScope = (scope: unknown) =>
  typeof scope === 'string' && roleOfScopes(scope.split(' ')) !== undefined;

/**
 * RFC 6750 (and RFC 9449 §7 for DPoP-bound tokens) with Tessera's own access tokens, checked
 * like any resource server checks them: signature, `iss`, `typ`, `aud` containing the admin
 * audience ({@link adminAudience}), lifetime, sender binding (`cnf.jkt`: the `DPoP` scheme
 * and a proof for this method and URL; `cnf.x5t#S256`: the same client certificate), then —
 * what only the issuer knows — revocation at once and a client that exists and is enabled,
 * and an admin scope (`tessera:admin:read`, `tessera:admin:write` or `tessera:admin`).
 * Returns the caller with the role its scope grants; which role a route needs is checked
 * after this (admin-roles.ts).
 */
export async function authenticateAdmin(
  server: AdminContext,
  request: AdminRequest,
): Promise<AdminCaller> {
  const header = request.headers.authorization;
  if (header === undefined || header === '')
    throw refuse(
      'invalid_request',
      `An access token with the ${adminScope} scope is required`,
      401,
    );
  if (!/^(Bearer|DPoP) +[A-Za-z0-9\-._~+/]+=* *$/i.test(header)) {
    const description = 'The Authorization header must be Bearer <token>';
    throw refuse('invalid_request', description, 400, ', error="invalid_request"');
  }
  const path = (request.url ?? '/').split('?', 1)[0]!;
  // The admin API is on the server's own address, whichever tenant issued the token.
  const serverIssuer = server.config.issuer;
  const context = await issuingContext(server, header);
  const certificate = requestCertificate(context, request as IncomingMessage);
  let claims;
  try {
    ({ claims } = await verifierOf(context).verifyAuthorization(header, {
      dpop: {
        method: request.method ?? 'GET',
        url: `${serverIssuer}${path}`,
        proof: request.headers.dpop,
      },
      clientCertificate: certificate?.certificate.raw,
    }));
  } catch (error) {
    throw refusalOf(error, header);
  }
  await context.syncChanges();
  if (context.revocations.has(claims.jti))
    throw invalidToken('The access token is not valid', 'revoked');
  const client = await context.clients.get(claims.client_id);
  if (!client || client.status !== 'active')
    throw invalidToken('The access token is not valid', 'client missing or disabled');
  const role = roleOfScopes(typeof claims.scope === 'string' ? claims.scope.split(' ') : []);
  if (role === undefined) throw lacksScope();
  const clientId = claims.client_id;
  return {
    actor: `admin-api:${clientId}`,
    clientId,
    role,
    bearer: true,
    ...(context.tenant === defaultTenant ? {} : { tenant: context.tenant }),
  };
}

/**
 * Issue 21: the context whose keys, issuer and clients check an admin token: the tenant's
 * whose issuer the token's (unverified) `iss` names, else the server's own. Only a lookup:
 * the verifier then checks the signature with that tenant's keys alone, so a forged `iss`
 * gains nothing. A path-selected tenant's issuer is `<server issuer>/t/NAME`; a tenant with
 * its own issuer is found by a walk over the tenant records (admin requests are rare).
 */
async function issuingContext(server: AdminContext, header: string): Promise<AdminContext> {
  const { tenants } = server;
  if (tenants.size === 0) return server;
  let iss: unknown;
  try {
    iss = decodeJwt(header.replace(/^\S+ +/, '').trim()).iss;
  } catch {
    return server; // the verifier refuses it with the usual answer
  }
  if (typeof iss !== 'string' || iss === server.config.issuer) return server;
  const pathPrefix = `${server.config.issuer}/t/`;
  let name: string | undefined;
  if (iss.startsWith(pathPrefix)) {
    const candidate = iss.slice(pathPrefix.length);
    const record = tenants.record(candidate);
    if (record && record.issuer === null) name = candidate;
  }
  name ??= tenants
    .names()
    .find((candidate) => tenantIssuer(server.config.issuer, tenants.record(candidate)!) === iss);
  if (name === undefined) return server;
  return (await tenants.get(name)) ?? server;
}

/** The admin API's answer for a verifier rejection (the wire answers predate the verifier). */
function refusalOf(error: unknown, header: string): OAuthError {
  if (!(error instanceof VerifierError)) return error as OAuthError;
  switch (error.reason) {
    case 'expired':
      return invalidToken('The access token expired');
    case 'audience': {
      // Signature and issuer checked out: a token without the scope is told so, as before;
      // an admin token minted for another audience is not for this API.
      const token = header.replace(/^\S+ +/, '').trim();
      if (!hasAdminScope(decodeJwt(token).scope)) return lacksScope();
      return invalidToken('The access token is not for the admin API', 'audience');
    }
    case 'dpop_required':
    case 'dpop_proof':
      return invalidToken(
        'The access token is DPoP-bound: send it with the DPoP scheme and a valid proof',
        error.detail,
      );
    case 'certificate_mismatch':
      return invalidToken(
        'The access token is bound to a client certificate this request did not present',
        error.detail,
      );
    case 'unavailable':
      return new OAuthError('temporarily_unavailable', 'Retry shortly', {
        status: 503,
        ...(error.detail === undefined ? {} : { detail: error.detail }),
      });
    case 'internal':
      return (error.cause ?? error) as OAuthError;
    default:
      return invalidToken('The access token is not valid', error.reason);
  }
}
