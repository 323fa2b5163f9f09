import { VerifierError } from '../errors.js';
import type { SignatureBackend } from './signature.js';

// Three base64url segments; the signature may be empty so `alg: none` fails on its algorithm.
const compactJws = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*$/;

/** A compact JWS split at its dots, with its protected header checked. */
export interface ParsedJws {
  readonly token: string;
  readonly dot1: number;
  readonly dot2: number;
  readonly alg: string;
  readonly kid: string | undefined;
  readonly typ: string;
}

/**
 * Splits a compact JWS (RFC 7515 §7.1) and applies the header rules of RFC 9068 §4 before
 * any key is looked up: `alg` must be in the allowlist (so `none` and HS* never reach a key)
 * and `typ` must be `at+jwt` or `application/at+jwt` (case-insensitive, RFC 9068 §2.1).
 * `crit` is refused because no extension is understood (RFC 7515 §4.1.11); `jku`, `x5u`,
 * `jwk` and `x5c` are ignored — keys come only from the configured JWKS.
 */
export function parseJws(
  token: string,
  algorithms: ReadonlySet<string>,
  maxLength: number,
  backend: SignatureBackend,
  isType: (typ: string) => boolean = isAccessTokenType,
): ParsedJws {
  if (token.length > maxLength || !compactJws.test(token)) throw new VerifierError('malformed');
  const dot1 = token.indexOf('.');
  const dot2 = token.indexOf('.', dot1 + 1);
  const header = parseObject(backend.decodeText(token.slice(0, dot1)));
  const { alg, typ, kid } = header;
  if (typeof alg !== 'string' || !algorithms.has(alg)) throw new VerifierError('algorithm');
  if (typeof typ !== 'string' || !isType(typ)) throw new VerifierError('type');
  if (header.crit !== undefined)
    throw new VerifierError('malformed', { detail: 'crit header present' });
  if (kid !== undefined && typeof kid !== 'string')
    throw new VerifierError('malformed', { detail: 'kid is not a string' });
  if (dot2 === token.length - 1)
    throw new VerifierError('malformed', { detail: 'empty signature' });
  return { token, dot1, dot2, alg, kid, typ };
}

/** Decodes the payload of an already verified JWS. */
export function parsePayload(jws: ParsedJws, backend: SignatureBackend): Record<string, unknown> {
  return parseObject(backend.decodeText(jws.token.slice(jws.dot1 + 1, jws.dot2)));
}

/** RFC 9701 §5: `typ` of a JWT-secured introspection response. */
export function isIntrospectionType(typ: string): boolean {
  const lower = typ.toLowerCase();
  return lower === 'token-introspection+jwt' || lower === 'application/token-introspection+jwt';
}

function isAccessTokenType(typ: string): boolean {
  const lower = typ.toLowerCase();
  return lower === 'at+jwt' || lower === 'application/at+jwt';
}

function parseObject(text: string): Record<string, unknown> {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new VerifierError('malformed', { detail: 'segment is not JSON' });
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new VerifierError('malformed', { detail: 'segment is not a JSON object' });
  }
  return value as Record<string, unknown>;
}
