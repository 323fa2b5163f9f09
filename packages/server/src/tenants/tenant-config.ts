import type { ServerConfig } from '../config.js';
import type { TenantRecord } from '../store/contract.js';
import { readTenantSettings, tenantFailureLimits, tenantTokenHook } from './tenant-settings.js';

/**
 * A path-selected tenant's issuer unless it sets its own: `<server issuer>/t/NAME`, so its
 * discovery document sits at `/t/NAME/.well-known/openid-configuration` (RFC 8414 §3 places
 * it under the issuer's path for OpenID Connect; the RFC 8414 one is served there too).
 */
export const tenantIssuer = (serverIssuer: string, tenant: Pick<TenantRecord, 'name' | 'issuer'>) =>
  tenant.issuer ?? `${serverIssuer}/t/${tenant.name}`;

/**
 * The effective configuration of a tenant: the server's, with the tenant's own settings
 * over it. Read through, not copied: the server's issuer is filled in after listening on
 * port 0, and a tenant without its own issuer follows it.
 */
export function tenantConfig(server: ServerConfig, tenant: TenantRecord): ServerConfig {
  const config = Object.create(server) as ServerConfig;
  Object.defineProperty(config, 'issuer', {
    get: () => tenantIssuer(server.issuer, tenant),
    enumerable: true,
  });
  if (tenant.preset !== null) config.preset = tenant.preset;
  if (tenant.tokenTtl !== null) config.defaultTokenTtl = tenant.tokenTtl;
  if (tenant.signingAlg !== null) config.signingAlg = tenant.signingAlg;
  if (tenant.defaultAudience !== null) config.defaultAudience = tenant.defaultAudience;
  const settings = readTenantSettings(tenant.settings);
  config.authFailureLimits = tenantFailureLimits(server.authFailureLimits, settings);
  config.tokenHook = tenantTokenHook(server.tokenHook, settings)?.hook;
  return config;
}
