import type { OAuthError } from '@tessera/protocol';
import type { PresentedCredentials } from '../client-auth/credentials.js';
import type { BodyType, Params } from '../http/parse-params.js';

/** What an error turns into on the wire. */
export interface ErrorReply {
  status: number;
  headers: Record<string, string>;
  body: unknown;
}

/** What an error shaper may look at besides the error. */
export interface ErrorShapeContext {
  requestId: string;
  /** The parsed request parameters, when the body was parsed before the error. */
  params?: Params | undefined;
}

/**
 * A provider's own revocation call, mounted beside RFC 7009's `/oauth/revoke`. The client is
 * authenticated from the body and may revoke only its own tokens, exactly as at
 * `/oauth/revoke`; only the wire shape differs.
 */
export interface PresetRevoke {
  path: string;
  /** `json-credentials`: a JSON body `{client_id, client_secret, token}` (Tesouro). */
  bodyShape: 'json-credentials';
  /** Headers the call must carry, each with the pattern its value must match. */
  requiredHeaders: Readonly<Record<string, RegExp>>;
  /** The JSON body of a successful answer (HTTP 200). */
  okBody: unknown;
}

/**
 * A provider dialect: data plus, at most, an error shaper. The RFC endpoints stay mounted
 * beside a preset's own paths, and keep RFC 6749 errors. Where a provider's documentation is
 * silent, a preset stays RFC 6749.
 */
export interface Preset {
  name: string;
  /** Token endpoint path in the provider's API. */
  tokenPath: string;
  /** Client authentication methods the provider's token endpoint accepts. */
  authMethods: ReadonlyArray<PresentedCredentials['method']>;
  /** Request body types the provider's token endpoint accepts. */
  bodyTypes: readonly BodyType[];
  /** Parameters the provider requires beyond grant_type (e.g. AstraPay's `scope`). */
  requiredParams: readonly string[];
  /**
   * When set, the only parameters the token endpoint's body may carry (Conta Simples:
   * `grant_type` alone, credentials go in the Authorization header). Default: any.
   */
  allowedParams?: readonly string[];
  /** Access token lifetime (seconds) for clients registered without one. */
  defaultTokenTtl: number;
  /** The provider's documented hosts per environment, for `--issuer` (documentation data). */
  hosts?: Readonly<Record<string, string>>;
  /** The provider's own revocation call, when it documents one. */
  revoke?: PresetRevoke;
  /** Reshapes errors answered on the preset's own paths; RFC 6749 when absent. */
  errorShape?: (error: OAuthError, context: ErrorShapeContext) => ErrorReply;
}

/** Tessera's own dialect: RFC 6749 as written. */
export const rfcPreset: Preset = {
  name: 'rfc',
  tokenPath: '/oauth/token',
  authMethods: ['client_secret_basic', 'client_secret_post'],
  bodyTypes: ['urlencoded', 'multipart', 'json'],
  requiredParams: [],
  defaultTokenTtl: 3600,
};

/**
 * Whether a preset may share the RFC token route (Treezor's `/oauth/token`): only if it
 * behaves exactly like RFC 6749 there, since RFC paths keep RFC behaviour and errors.
 */
export function isRfcCompatible(preset: Preset): boolean {
  return (
    preset.errorShape === undefined &&
    preset.allowedParams === undefined &&
    preset.requiredParams.length === 0 &&
    rfcPreset.authMethods.every((method) => preset.authMethods.includes(method)) &&
    rfcPreset.bodyTypes.every((type) => preset.bodyTypes.includes(type))
  );
}
