import { VerifierError } from '../errors.js';

// RFC 6750 §2.1: b64token = 1*( ALPHA / DIGIT / "-" / "." / "_" / "~" / "+" / "/" ) *"="
const b64token = /^[A-Za-z0-9\-._~+/]+=*$/;

/**
 * Extracts the bearer token from an `Authorization` header value (RFC 6750 §2.1).
 *
 * - absent or empty: `missing_token` (401 without an error code, RFC 6750 §3.1);
 * - another scheme, `Bearer` without a token, or a token outside the b64token syntax:
 *   `malformed_header` (400 `invalid_request`);
 * - more than one credential (several header values, `Bearer a b`, `Bearer a, Bearer b`):
 *   `multiple_tokens` (400 `invalid_request`).
 *
 * Tokens in the query string or form body (RFC 6750 §2.2, §2.3) are not looked for.
 */
export function extractBearerToken(value: string | readonly string[] | null | undefined): string {
  if (Array.isArray(value)) {
    if (value.length > 1) throw new VerifierError('multiple_tokens');
    return extractBearerToken(value[0]);
  }
  const header = typeof value === 'string' ? value.trim() : '';
  if (header === '') throw new VerifierError('missing_token');
  const space = header.search(/[ \t]/);
  const scheme = space === -1 ? header : header.slice(0, space);
  if (scheme.toLowerCase() !== 'bearer')
    throw new VerifierError('malformed_header', { detail: 'not the Bearer scheme' });
  const credentials = space === -1 ? '' : header.slice(space + 1).trim();
  if (credentials === '')
    throw new VerifierError('malformed_header', { detail: 'no token after Bearer' });
  if (/[\s,]/.test(credentials)) throw new VerifierError('multiple_tokens');
  if (!b64token.test(credentials))
    throw new VerifierError('malformed_header', { detail: 'token is not a b64token' });
  return credentials;
}

/**
 * Like {@link extractBearerToken}, also accepting the RFC 9449 §7.1 `DPoP` scheme; returns
 * which scheme carried the token.
 */
export function extractAccessToken(value: string | readonly string[] | null | undefined): {
  scheme: 'Bearer' | 'DPoP';
  token: string;
} {
  const header = Array.isArray(value) ? value : typeof value === 'string' ? value.trim() : value;
  if (typeof header === 'string' && /^dpop[ \t]/i.test(header)) {
    const token = extractBearerToken(`Bearer ${header.slice(5)}`);
    return { scheme: 'DPoP', token };
  }
  return { scheme: 'Bearer', token: extractBearerToken(header) };
}
