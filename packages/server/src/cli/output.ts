import { authConfigView } from '../client-auth/auth-config.js';
import type { AuditEntry, ClientRecord, KeyRecord } from '../store/contract.js';

const iso = (seconds: number | null) =>
  seconds === null ? null : new Date(seconds * 1000).toISOString();

/** A client as the CLI and admin API show it: never a secret or its hash. */
export function clientView(client: ClientRecord) {
  return {
    client_id: client.clientId,
    name: client.name,
    status: client.status,
    scope: client.scopes.join(' '),
    audience: client.audiences,
    token_ttl: client.tokenTtl,
    auth_method: client.authMethod,
    ...authConfigView(client.authConfig),
    grant_types: client.grantTypes,
    created_at: iso(client.createdAt),
    updated_at: iso(client.updatedAt),
    secrets: client.secrets.map((secret) => ({
      id: secret.id,
      created_at: iso(secret.createdAt),
      expires_at: iso(secret.expiresAt),
      last_used_at: iso(secret.lastUsedAt),
    })),
  };
}

export function keyView(key: KeyRecord) {
  return {
    kid: key.kid,
    alg: key.alg,
    state: key.state,
    created_at: iso(key.createdAt),
    activates_at: iso(key.activatesAt),
    retires_at: iso(key.retiresAt),
  };
}

export function auditView(entry: AuditEntry) {
  return {
    id: entry.id,
    at: iso(entry.at),
    actor: entry.actor,
    action: entry.action,
    target: entry.target,
    details: entry.details,
  };
}

/** Renders rows as an aligned plain-text table. */
export function table(rows: Array<Record<string, unknown>>, columns: string[]): string {
  const cell = (value: unknown) =>
    value === null || value === undefined
      ? '-'
      : Array.isArray(value)
        ? value.join(',') || '-'
        : String(value) || '-';
  const widths = columns.map((column) =>
    Math.max(column.length, ...rows.map((row) => cell(row[column]).length)),
  );
  const line = (values: string[]) =>
    values
      .map((value, i) => value.padEnd(widths[i]!))
      .join('  ')
      .trimEnd();
  return [
    line(columns.map((c) => c.toUpperCase())),
    ...rows.map((row) => line(columns.map((c) => cell(row[c])))),
  ].join('\n');
}

/**
 * A reader that goes away (`tessera clients list --json | head -c 0`) ends the command quietly,
 * as `ls | head` does, instead of with an EPIPE stack trace: whatever was to be printed had
 * nobody left to read it. Other write errors still surface.
 */
export function endQuietlyOnClosedPipe(
  streams: NodeJS.WriteStream[] = [process.stdout, process.stderr],
): void {
  for (const stream of streams) {
    stream.on('error', (error: NodeJS.ErrnoException) => {
      if (error.code !== 'EPIPE') throw error;
      process.exit(0);
    });
  }
}
