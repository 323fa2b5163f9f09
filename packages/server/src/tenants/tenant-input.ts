/**
 * Issue 21: validating what a tenant is created or changed with, once for the CLI and the
 * admin API, and resolving a tenant name to its scoped store.
 */
import { signingAlgorithms, type SigningAlgorithm } from '@tessera/protocol';
import { presets } from '../presets/index.js';
import type { NewTenant, Store, TenantPatch } from '../store/contract.js';
import { defaultTenant, isTenantName } from './tenant-name.js';

/** A refused tenant input or an unknown tenant; `code` says which (CLI exit 1, admin 400/404/409). */
export class TenantError extends Error {
  override name = 'TenantError';
  constructor(
    message: string,
    readonly code: 'invalid_tenant' | 'not_found' | 'conflict',
  ) {
    super(message);
  }
}

/** What `tenants create` / `update` take; null clears a setting back to the server's. */
export interface TenantInput {
  issuer?: string | null | undefined;
  preset?: string | null | undefined;
  tokenTtl?: number | null | undefined;
  signingAlg?: string | null | undefined;
  defaultAudience?: string | null | undefined;
}

const maxTokenTtl = 86400;

export function validTenantName(name: string): string {
  if (!isTenantName(name))
    throw new TenantError(
      `tenant name must match [a-z0-9][a-z0-9-]{0,62}, got ${JSON.stringify(name.slice(0, 80))}`,
      'invalid_tenant',
    );
  return name;
}

function absoluteUrl(value: string, what: string, httpsOnly: boolean): string {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new TenantError(`${what} must be an absolute URL`, 'invalid_tenant');
  }
  const schemes = httpsOnly ? ['https:', 'http:'] : undefined;
  if (schemes && !schemes.includes(url.protocol))
    throw new TenantError(`${what} must be an http(s) URL`, 'invalid_tenant');
  if (httpsOnly && (url.search !== '' || url.hash !== ''))
    throw new TenantError(`${what} must not have a query or fragment`, 'invalid_tenant');
  return value;
}

/** The patch `input` describes, each field checked; undefined fields stay as they are. */
export function tenantPatch(input: TenantInput): TenantPatch {
  const patch: TenantPatch = {};
  if (input.issuer !== undefined)
    patch.issuer =
      input.issuer === null ? null : absoluteUrl(input.issuer, 'issuer', true).replace(/\/$/, '');
  if (input.preset !== undefined) {
    if (input.preset !== null && !presets.has(input.preset))
      throw new TenantError(
        `unknown preset ${JSON.stringify(input.preset)}; known presets: ${[...presets.keys()].join(', ')}`,
        'invalid_tenant',
      );
    patch.preset = input.preset;
  }
  if (input.tokenTtl !== undefined) {
    const ttl = input.tokenTtl;
    if (ttl !== null && (!Number.isInteger(ttl) || ttl < 1 || ttl > maxTokenTtl))
      throw new TenantError(
        `token TTL must be an integer from 1 to ${maxTokenTtl} seconds`,
        'invalid_tenant',
      );
    patch.tokenTtl = ttl;
  }
  if (input.signingAlg !== undefined) {
    const alg = input.signingAlg;
    if (alg !== null && !signingAlgorithms.includes(alg as SigningAlgorithm))
      throw new TenantError(
        `signing algorithm must be one of ${signingAlgorithms.join(', ')}`,
        'invalid_tenant',
      );
    patch.signingAlg = alg as SigningAlgorithm | null;
  }
  if (input.defaultAudience !== undefined)
    patch.defaultAudience =
      input.defaultAudience === null
        ? null
        : absoluteUrl(input.defaultAudience, 'default audience', false);
  return patch;
}

/** A new tenant: its name and settings checked, unset settings null (the server's). */
export function newTenant(name: string, input: TenantInput): NewTenant {
  if (name === defaultTenant) throw new TenantError('the default tenant always exists', 'conflict');
  const patch = tenantPatch(input);
  return {
    name: validTenantName(name),
    issuer: patch.issuer ?? null,
    preset: patch.preset ?? null,
    tokenTtl: patch.tokenTtl ?? null,
    signingAlg: patch.signingAlg ?? null,
    defaultAudience: patch.defaultAudience ?? null,
    settings: {},
  };
}

/**
 * The store scoped to tenant `name` (the store itself for `default` or no name), or a
 * TenantError `not_found` when no such tenant exists.
 */
export async function tenantStore(store: Store, name: string | undefined): Promise<Store> {
  if (name === undefined || name === defaultTenant) return store;
  if (!isTenantName(name) || !(await store.getTenant(name)))
    throw new TenantError(`no tenant named ${JSON.stringify(name.slice(0, 80))}`, 'not_found');
  return store.forTenant(name);
}
