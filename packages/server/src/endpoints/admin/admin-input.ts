import { OAuthError } from '@tessera/protocol';
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

/** Registry refusals become admin API errors with their own status. */
export function registryError(error: unknown): never {
  if (error instanceof RegistryError) {
    throw new OAuthError(error.code, error.message);
  }
  throw error;
}
