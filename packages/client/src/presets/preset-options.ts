import type { TokenClientOptions } from '../options.js';

/**
 * What every preset accepts: credentials plus the client's behavioural options (clock,
 * store, retry, …). The wire shape — endpoint, auth method, body format, expired-token
 * detection, revocation — is the preset's. `baseUrl` overrides the provider's host (tests,
 * proxies, other environments).
 */
export type PresetOptions = Omit<
  TokenClientOptions,
  | 'tokenEndpoint'
  | 'issuer'
  | 'revocationEndpoint'
  | 'authMethod'
  | 'dialect'
  | 'clientSecret'
  | 'privateKey'
  | 'kid'
  | 'signingAlg'
  | 'assertionAudience'
> & { baseUrl?: string; clientSecret: string };

export function joinUrl(base: string, path: string): string {
  return `${base.replace(/\/+$/, '')}${path}`;
}
