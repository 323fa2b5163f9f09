import type { SecretHasher } from '../../packages/server/src/secrets/client-secret.js';
import type { NewClient } from '../../packages/server/src/store/contract.js';

/**
 * The client every seeding script registers: active, any authentication method, no scopes
 * or audiences of its own, one secret hashed as the server would. The seeders (seed-clients,
 * seed-tenants) write rows with `importClients`, which takes them as they are, so this one
 * record is what the bench's clients look like.
 */
export function benchClient(
  clientId: string,
  name: string,
  secret: string,
  hasher: SecretHasher,
  now: number,
): NewClient {
  return {
    clientId,
    name,
    status: 'active',
    scopes: [],
    audiences: [],
    tokenTtl: null,
    authMethod: 'any',
    authConfig: {},
    grantTypes: ['client_credentials'],
    secrets: [{ ...hasher.newRecord(secret, now), id: `${clientId}-s1` }],
    createdAt: now,
    updatedAt: now,
  };
}
