/**
 * The FAPI 2.0 Security Profile (final, 2025) as Tessera enforces it for the client
 * credentials grant, per client (`profile: 'fapi2'`) or for every client (`--profile fapi2`):
 *
 * - client authentication by `private_key_jwt` or mTLS only (§5.3.3.4); a secret or a
 *   federated workload token gets `invalid_client`;
 * - every access token sender-constrained by DPoP or mTLS (§5.3.3.1); a request with
 *   neither gets `400 invalid_request`;
 * - PS256, ES256 or EdDSA for assertions, DPoP proofs and tokens (§5.4.1);
 * - assertion `aud` exactly the issuer, as a single string (§5.3.2.1 item 8);
 * - token lifetime at most `--fapi-max-token-lifetime` (shortened, not refused);
 * - TLS 1.2 or later with RFC 9325 §4.2's suites when Tessera terminates TLS (§5.2.1; the
 *   HTTPS listener only ever offers those: tls/https-options.ts).
 */
import type { SigningAlgorithm } from '@tessera/protocol';
import type { ServerConfig } from '../config.js';
import type { ClientAuthConfig, ClientProfile, RegisteredAuthMethod } from '../store/contract.js';

/** FAPI 2.0 Security Profile §5.4.1. */
export const fapi2Algorithms: readonly SigningAlgorithm[] = ['PS256', 'ES256', 'EdDSA'];
/** The client authentication methods FAPI 2.0 allows (§5.3.3.4). */
export const fapi2AuthMethods: readonly RegisteredAuthMethod[] = [
  'private_key_jwt',
  'tls_client_auth',
  'self_signed_tls_client_auth',
];

/** The profile a request of `client` is held to: the server's, else the client's own. */
export function effectiveProfile(
  config: Pick<ServerConfig, 'profile'>,
  client: { profile?: ClientProfile | null },
): ClientProfile | undefined {
  return config.profile ?? client.profile ?? undefined;
}

/**
 * Why a client's registration does not meet FAPI 2.0, or undefined when it does. The
 * registry refuses such a client with this message (`invalid_client_metadata`).
 */
export function fapi2RegistrationProblem(client: {
  authMethod: RegisteredAuthMethod;
  authConfig: ClientAuthConfig;
  tokenTtl: number | null;
  maxTokenTtl: number;
}): string | undefined {
  if (!fapi2AuthMethods.includes(client.authMethod))
    return `profile fapi2 needs auth_method private_key_jwt, tls_client_auth or self_signed_tls_client_auth, not ${client.authMethod}`;
  const keys = client.authConfig.jwks?.keys ?? [];
  const weak = keys.find(
    (key) => key.alg !== undefined && !(fapi2Algorithms as readonly string[]).includes(key.alg),
  );
  if (weak) return `profile fapi2 allows PS256, ES256 or EdDSA keys, not ${weak.alg}`;
  // §5.4.1: RSA keys of at least 2048 bits.
  if (keys.some((key) => key.kty === 'RSA' && Buffer.from(key.n ?? '', 'base64url').length < 256))
    return 'profile fapi2 needs RSA keys of at least 2048 bits';
  if (client.tokenTtl !== null && client.tokenTtl > client.maxTokenTtl)
    return `profile fapi2 allows a token_ttl of at most ${client.maxTokenTtl} seconds (--fapi-max-token-lifetime)`;
  return undefined;
}
