import type { KeyRecord, SecretRecord } from '../contract.js';

export * from '../rows.js';

export const insertSecretSql =
  'INSERT INTO client_secrets (id, client_id, hash, created_at, expires_at, last_used_at) VALUES ($1, $2, $3, $4, $5, $6)';

export function secretParams(clientId: string, secret: SecretRecord): unknown[] {
  return [secret.id, clientId, secret.hash, secret.createdAt, secret.expiresAt, secret.lastUsedAt];
}

export const insertKeySql = `INSERT INTO signing_keys (kid, alg, state, public_jwk, encrypted_private_key, created_at, activates_at, retires_at)
  VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`;

export function keyParams(key: KeyRecord): unknown[] {
  return [
    key.kid,
    key.alg,
    key.state,
    JSON.stringify(key.publicJwk),
    key.encryptedPrivateKey,
    key.createdAt,
    key.activatesAt,
    key.retiresAt,
  ];
}
