import { OAuthError } from '@tessera/protocol';
import type { AuthConfigInput } from '../../client-auth/auth-config.js';
import { RegistryError } from '../../registry/client-registry.js';

/** Reads a JSON object body, refusing anything else. */
export function objectBody(body: unknown): Record<string, unknown> {
  if (body === undefined || body === null) return {};
  if (typeof body !== 'object' || Array.isArray(body)) {
    throw new OAuthError('invalid_request', 'The request body must be a JSON object');
  }
  return body as Record<string, unknown>;
}

const invalid = (field: string, what: string) =>
  new OAuthError('invalid_client_metadata', `${field} must be ${what}`);

export function optionalString(body: Record<string, unknown>, field: string): string | undefined {
  const value = body[field];
  if (value === undefined) return undefined;
  if (typeof value !== 'string') throw invalid(field, 'a string');
  return value;
}

export function optionalNullableString(
  body: Record<string, unknown>,
  field: string,
): string | null | undefined {
  return body[field] === null ? null : optionalString(body, field);
}

export function optionalStringList(
  body: Record<string, unknown>,
  field: string,
): string[] | undefined {
  const value = body[field];
  if (value === undefined) return undefined;
  if (typeof value === 'string') return [value];
  if (!Array.isArray(value) || !value.every((item) => typeof item === 'string'))
    throw invalid(field, 'a string or an array of strings');
  return value as string[];
}

export function optionalInteger(
  body: Record<string, unknown>,
  field: string,
): number | null | undefined {
  const value = body[field];
  if (value === undefined || value === null) return value;
  if (typeof value !== 'number' || !Number.isInteger(value)) throw invalid(field, 'an integer');
  return value;
}

export function optionalBoolean(body: Record<string, unknown>, field: string): boolean | undefined {
  const value = body[field];
  if (value === undefined) return undefined;
  if (typeof value !== 'boolean') throw invalid(field, 'true or false');
  return value;
}

/**
 * The client metadata of the non-secret methods and DPoP, named as RFC 7591 (`jwks`,
 * `jwks_uri`), RFC 8705 (`tls_client_auth_subject_dn`, `tls_client_auth_san_dns`) and RFC 9449
 * (`dpop_bound_access_tokens`) name them, plus `certificates` (PEM) for
 * self_signed_tls_client_auth, as `clients create --certificate-file` takes them. The registry
 * checks them against the auth method.
 */
export function authConfigFields(body: Record<string, unknown>): AuthConfigInput {
  const input: AuthConfigInput = {};
  const jwks = body.jwks;
  if (jwks !== undefined) {
    const keys = (jwks as { keys?: unknown } | null)?.keys;
    if (
      typeof jwks !== 'object' ||
      jwks === null ||
      !Array.isArray(keys) ||
      !keys.every((key) => typeof key === 'object' && key !== null && !Array.isArray(key))
    )
      throw invalid('jwks', 'a JWK Set: {"keys": [ … ]}');
    input.jwks = { keys: keys as JsonWebKey[] };
  }
  const fields: AuthConfigInput = {
    jwksUri: optionalString(body, 'jwks_uri'),
    tlsSubjectDn: optionalString(body, 'tls_client_auth_subject_dn'),
    tlsSanDns: optionalString(body, 'tls_client_auth_san_dns'),
    certificates: optionalStringList(body, 'certificates'),
    dpopBound: optionalBoolean(body, 'dpop_bound_access_tokens'),
    federatedIssuer: optionalString(body, 'federated_issuer'),
    federatedSubject: optionalString(body, 'federated_subject'),
    federatedAudience: optionalString(body, 'federated_audience'),
    federatedJwksUri: optionalString(body, 'federated_jwks_uri'),
  };
  for (const [name, value] of Object.entries(fields))
    if (value !== undefined) Object.assign(input, { [name]: value });
  return input;
}

/** Registry refusals become admin API errors with their own status. */
export function registryError(error: unknown): never {
  throw error instanceof RegistryError ? new OAuthError(error.code, error.message) : error;
}
