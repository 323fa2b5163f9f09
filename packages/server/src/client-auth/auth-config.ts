import { X509Certificate } from 'node:crypto';
import type { ClientAuthConfig, RegisteredAuthMethod } from '../store/contract.js';

/** Registration input for the secret-less methods and sender constraints. */
export interface AuthConfigInput {
  /** private_key_jwt or self_signed_tls_client_auth: public JWKs (RFC 7591 `jwks`). */
  jwks?: { keys: JsonWebKey[] } | undefined;
  /** private_key_jwt: RFC 7591 `jwks_uri` (https, or http on a loopback host). */
  jwksUri?: string | undefined;
  /** tls_client_auth: RFC 8705 `tls_client_auth_subject_dn`. */
  tlsSubjectDn?: string | undefined;
  /** tls_client_auth: RFC 8705 `tls_client_auth_san_dns`. */
  tlsSanDns?: string | undefined;
  /** self_signed_tls_client_auth: PEM certificates, stored as JWKs carrying `x5c`. */
  certificates?: string[] | undefined;
  /** RFC 9449 §5.2 `dpop_bound_access_tokens`. */
  dpopBound?: boolean | undefined;
  /** federated: the trusted issuer, the workload subject, its audience and keys (issue 25). */
  federatedIssuer?: string | undefined;
  federatedSubject?: string | undefined;
  federatedAudience?: string | undefined;
  federatedJwksUri?: string | undefined;
}

/** Secret methods: the client gets a generated (or imported) secret. */
export function usesSecret(method: RegisteredAuthMethod): boolean {
  return method === 'client_secret_basic' || method === 'client_secret_post' || method === 'any';
}

/**
 * Checks that `input` holds exactly what `method` needs and nothing another method needs.
 * Throws an Error whose message names the offending option.
 */
export function validAuthConfig(
  method: RegisteredAuthMethod,
  input: AuthConfigInput,
): ClientAuthConfig {
  const config: ClientAuthConfig = {};
  const given = (names: Array<keyof AuthConfigInput>) =>
    names.filter((name) => input[name] !== undefined);
  const allow = (names: Array<keyof AuthConfigInput>, what: string) => {
    const extra = given(
      (
        [
          ...['jwks', 'jwksUri', 'tlsSubjectDn', 'tlsSanDns', 'certificates'],
          ...['federatedIssuer', 'federatedSubject', 'federatedAudience', 'federatedJwksUri'],
        ] as const
      ).filter((name) => !names.includes(name)),
    );
    if (extra.length > 0) throw new Error(`${extra.join(', ')} cannot be used with ${what}`);
  };
  if (method === 'private_key_jwt') {
    allow(['jwks', 'jwksUri'], method);
    if (given(['jwks', 'jwksUri']).length !== 1)
      throw new Error('private_key_jwt needs exactly one of jwks or jwks_uri');
    if (input.jwks !== undefined) config.jwks = publicJwks(input.jwks);
    if (input.jwksUri !== undefined) config.jwksUri = validJwksUri(input.jwksUri);
  } else if (method === 'tls_client_auth') {
    allow(['tlsSubjectDn', 'tlsSanDns'], method);
    if (given(['tlsSubjectDn', 'tlsSanDns']).length !== 1)
      throw new Error(
        'tls_client_auth needs exactly one of tls_client_auth_subject_dn or tls_client_auth_san_dns',
      );
    if (input.tlsSubjectDn !== undefined)
      config.tlsSubjectDn = nonEmpty(input.tlsSubjectDn, 'tls_client_auth_subject_dn');
    if (input.tlsSanDns !== undefined)
      config.tlsSanDns = nonEmpty(input.tlsSanDns, 'tls_client_auth_san_dns');
  } else if (method === 'self_signed_tls_client_auth') {
    allow(['jwks', 'certificates'], method);
    const keys = [
      ...(input.jwks === undefined ? [] : publicJwks(input.jwks).keys),
      ...(input.certificates ?? []).map(certificateJwk),
    ];
    if (keys.length === 0)
      throw new Error('self_signed_tls_client_auth needs a certificate or a jwks');
    config.jwks = { keys };
  } else if (method === 'federated') {
    allow(['federatedIssuer', 'federatedSubject', 'federatedAudience', 'federatedJwksUri'], method);
    if (input.federatedIssuer === undefined || input.federatedSubject === undefined)
      throw new Error('federated needs federated_issuer and federated_subject');
    config.federatedIssuer = validHttpsUrl(input.federatedIssuer, 'federated_issuer');
    config.federatedSubject = nonEmpty(input.federatedSubject, 'federated_subject');
    if (input.federatedAudience !== undefined)
      config.federatedAudience = nonEmpty(input.federatedAudience, 'federated_audience');
    if (input.federatedJwksUri !== undefined)
      config.federatedJwksUri = validHttpsUrl(input.federatedJwksUri, 'federated_jwks_uri');
  } else {
    allow([], method);
  }
  if (input.dpopBound) config.dpopBound = true;
  return config;
}

function nonEmpty(value: string, name: string): string {
  const trimmed = value.trim();
  if (trimmed === '' || trimmed.length > 1000 || /[\x00-\x1f\x7f]/.test(trimmed))
    throw new Error(`${name} must be 1 to 1000 characters without control characters`);
  return trimmed;
}

function publicJwks(jwks: { keys: JsonWebKey[] }): { keys: JsonWebKey[] } {
  if (
    typeof jwks !== 'object' ||
    jwks === null ||
    !Array.isArray(jwks.keys) ||
    jwks.keys.length === 0
  )
    throw new Error('jwks must be a JSON Web Key Set with at least one key');
  if (jwks.keys.length > 20) throw new Error('jwks may hold at most 20 keys');
  for (const key of jwks.keys) {
    if (typeof key !== 'object' || key === null || !['RSA', 'EC', 'OKP'].includes(key.kty ?? ''))
      throw new Error('jwks keys must be RSA, EC or OKP public keys');
    if ('d' in key || 'p' in key || 'q' in key || 'k' in key)
      throw new Error('jwks must hold public keys only: a private key was given');
  }
  return { keys: jwks.keys.map((key) => ({ ...key })) };
}

function validJwksUri(uri: string): string {
  return validHttpsUrl(uri, 'jwks_uri');
}

/** https, or http on a loopback host only (local development and tests). */
function validHttpsUrl(uri: string, name: string): string {
  let url: URL;
  try {
    url = new URL(uri);
  } catch {
    throw new Error(`${name} must be an absolute URL`);
  }
  if (url.protocol !== 'https:' && !(url.protocol === 'http:' && isLoopbackHost(url.hostname)))
    throw new Error(`${name} must be an https URL`);
  // An issuer is compared with `iss` exactly: keep it as given, not normalised by URL.
  return name === 'federated_issuer' ? uri : url.href;
}

/** Hosts that never leave the machine: the only ones allowed plain http. */
export function isLoopbackHost(hostname: string): boolean {
  return ['localhost', '127.0.0.1', '[::1]'].includes(hostname);
}

function certificateJwk(pem: string): JsonWebKey {
  let certificate: X509Certificate;
  try {
    certificate = new X509Certificate(pem);
  } catch {
    throw new Error('the certificate is not a PEM X.509 certificate');
  }
  const jwk = certificate.publicKey.export({ format: 'jwk' }) as JsonWebKey & { x5c?: string[] };
  jwk.x5c = [certificate.raw.toString('base64')];
  return jwk;
}
