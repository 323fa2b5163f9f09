import type { OAuthError } from '@tessera/protocol';
import type { BodyType } from '../http/parse-params.js';

/** What an error turns into on the wire. */
export interface ErrorReply {
  status: number;
  headers: Record<string, string>;
  body: unknown;
}

/**
 * A provider dialect: data plus, at most, an error shaper. The RFC endpoints stay mounted
 * beside a preset's own paths, and keep RFC 6749 errors.
 */
export interface Preset {
  name: string;
  /** Token endpoint path in the provider's API. */
  tokenPath: string;
  /** Client authentication methods the provider's token endpoint accepts. */
  authMethods: ReadonlyArray<'client_secret_basic' | 'client_secret_post'>;
  bodyTypes: readonly BodyType[];
  /** Parameters the provider requires beyond grant_type (e.g. AstraPay's `scope`). */
  requiredParams: readonly string[];
  /** Access token lifetime (seconds) for clients registered without one. */
  defaultTokenTtl: number;
  /** Reshapes errors answered on the preset's own paths; RFC 6749 when absent. */
  errorShape?: (error: OAuthError, context: { requestId: string }) => ErrorReply;
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
