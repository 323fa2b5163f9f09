import { readFile } from 'node:fs/promises';
import type { AuthConfigInput } from '../client-auth/auth-config.js';
import { UsageError } from './usage.js';

/** `clients create` options for private_key_jwt, the TLS methods and DPoP. */
export const authConfigOptions = {
  'jwks-file': { type: 'string' },
  'jwks-uri': { type: 'string' },
  'tls-subject-dn': { type: 'string' },
  'tls-san-dns': { type: 'string' },
  'certificate-file': { type: 'string', multiple: true },
  'dpop-bound': { type: 'boolean' },
  'federated-issuer': { type: 'string' },
  'federated-subject': { type: 'string' },
  'federated-audience': { type: 'string' },
  'federated-jwks-uri': { type: 'string' },
} as const;

async function readOption(option: string, path: string): Promise<string> {
  try {
    return await readFile(path, 'utf8');
  } catch (error) {
    throw new UsageError(`--${option}: cannot read ${path}: ${(error as Error).message}`);
  }
}

export async function authConfigInput(values: {
  'jwks-file'?: string | undefined;
  'jwks-uri'?: string | undefined;
  'tls-subject-dn'?: string | undefined;
  'tls-san-dns'?: string | undefined;
  'certificate-file'?: string[] | undefined;
  'dpop-bound'?: boolean | undefined;
  'federated-issuer'?: string | undefined;
  'federated-subject'?: string | undefined;
  'federated-audience'?: string | undefined;
  'federated-jwks-uri'?: string | undefined;
}): Promise<AuthConfigInput> {
  const input: AuthConfigInput = {};
  if (values['jwks-file'] !== undefined) {
    const text = await readOption('jwks-file', values['jwks-file']);
    try {
      const parsed = JSON.parse(text) as { keys?: JsonWebKey[] } & JsonWebKey;
      // A single JWK is accepted as a one-key set.
      input.jwks = Array.isArray(parsed.keys) ? { keys: parsed.keys } : { keys: [parsed] };
    } catch {
      throw new UsageError(`--jwks-file: ${values['jwks-file']} is not JSON`);
    }
  }
  if (values['jwks-uri'] !== undefined) input.jwksUri = values['jwks-uri'];
  if (values['tls-subject-dn'] !== undefined) input.tlsSubjectDn = values['tls-subject-dn'];
  if (values['tls-san-dns'] !== undefined) input.tlsSanDns = values['tls-san-dns'];
  if (values['certificate-file'] !== undefined) {
    input.certificates = await Promise.all(
      values['certificate-file'].map((path) => readOption('certificate-file', path)),
    );
  }
  if (values['dpop-bound']) input.dpopBound = true;
  if (values['federated-issuer'] !== undefined) input.federatedIssuer = values['federated-issuer'];
  if (values['federated-subject'] !== undefined)
    input.federatedSubject = values['federated-subject'];
  if (values['federated-audience'] !== undefined)
    input.federatedAudience = values['federated-audience'];
  if (values['federated-jwks-uri'] !== undefined)
    input.federatedJwksUri = values['federated-jwks-uri'];
  return input;
}
