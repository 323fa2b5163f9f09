/** The tenant every deployment has: the server's own configuration, and every pre-tenant row. */
export const defaultTenant = 'default';

/** `[a-z0-9][a-z0-9-]{0,62}`: a DNS label's alphabet, so a name fits a path segment and a host. */
export const tenantNamePattern = /^[a-z0-9][a-z0-9-]{0,62}$/;

export const isTenantName = (name: string): boolean => tenantNamePattern.test(name);
