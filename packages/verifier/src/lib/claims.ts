import { parseScope } from '@tessera/protocol';
import { VerifierError } from '../errors.js';
import type { VerifierErrorReason } from '../errors.js';
import type { AccessTokenPayload } from '../access-token.js';

/** What the verifier keeps about a token whose signature, issuer and audience passed. */
export interface CheckedClaims {
  readonly payload: AccessTokenPayload;
  readonly scopes: readonly string[];
  readonly scopeSet: ReadonlySet<string>;
}

/**
 * The claim rules of RFC 9068 §4 that do not depend on the time: `iss` equals the issuer,
 * `aud` contains an accepted audience, and the §2.2 required claims are present and typed.
 * The `scope` claim must be a valid RFC 6749 §3.3 scope string when present.
 */
export function checkClaims(
  payload: Record<string, unknown>,
  issuer: string,
  audiences: readonly string[],
): CheckedClaims {
  if (payload.iss !== issuer)
    throw new VerifierError(typeof payload.iss === 'string' ? 'issuer' : 'malformed');
  const { aud } = payload;
  const audList = typeof aud === 'string' ? [aud] : Array.isArray(aud) ? aud : undefined;
  if (audList === undefined || !audList.every((a) => typeof a === 'string'))
    throw new VerifierError('malformed', { detail: 'aud' });
  if (!audiences.some((a) => audList.includes(a))) throw new VerifierError('audience');
  for (const name of ['exp', 'iat'] as const) {
    if (!isNumericDate(payload[name])) throw new VerifierError('malformed', { detail: name });
  }
  if (payload.nbf !== undefined && !isNumericDate(payload.nbf))
    throw new VerifierError('malformed', { detail: 'nbf' });
  for (const name of ['sub', 'client_id', 'jti'] as const) {
    if (typeof payload[name] !== 'string' || payload[name] === '')
      throw new VerifierError('malformed', { detail: name });
  }
  let scopes: string[] = [];
  if (payload.scope !== undefined) {
    const parsed = typeof payload.scope === 'string' ? parseScope(payload.scope) : undefined;
    if (parsed === undefined) throw new VerifierError('malformed', { detail: 'scope' });
    scopes = parsed;
  }
  return {
    payload: deepFreeze(payload) as AccessTokenPayload,
    scopes: Object.freeze(scopes),
    scopeSet: new Set(scopes),
  };
}

/**
 * The time rules (RFC 7519 §4.1.4–4.1.6), re-run on every cache hit: expired once
 * `exp <= now - tolerance`; not yet valid while `nbf` or `iat` is after `now + tolerance`.
 */
export function checkTime(
  payload: AccessTokenPayload,
  nowMs: number,
  tolerance: number,
): VerifierErrorReason | undefined {
  const now = Math.floor(nowMs / 1000);
  if (payload.exp <= now - tolerance) return 'expired';
  if (payload.nbf !== undefined && payload.nbf > now + tolerance) return 'not_yet_valid';
  if (payload.iat > now + tolerance) return 'not_yet_valid';
  return undefined;
}

function isNumericDate(value: unknown): value is number {
  return typeof value === 'number' && Number.isFinite(value);
}

function deepFreeze(value: unknown): unknown {
  if (typeof value === 'object' && value !== null && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const member of Object.values(value)) deepFreeze(member);
  }
  return value;
}
