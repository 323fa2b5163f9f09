/**
 * Issue 21: shared steps of the tenant tests (tenants.test.ts over SQLite,
 * postgres-tenants.test.ts over PostgreSQL): raw HTTP with a chosen Host header, the CLI run
 * from source, and a tenant with a client.
 */
import { request } from 'node:http';
import { ClientRegistry } from '../../src/registry/client-registry.js';
import type { TesseraContext } from '../../src/context.js';
import { newTenant } from '../../src/tenants/tenant-input.js';
import { runSourceCli } from './cli.js';
import { basicAuthorization } from './tessera.js';

export interface Reply {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  text: string;
  json: Record<string, unknown>;
}

/** One HTTP request on its own connection (so a `--workers` primary may pick any worker). */
export function send(
  url: string,
  options: { method?: string; headers?: Record<string, string>; body?: string } = {},
): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const outgoing = request(
      url,
      { method: options.method ?? 'GET', agent: false, headers: options.headers ?? {} },
      (response) => {
        let text = '';
        response.on('data', (chunk: Buffer) => (text += chunk));
        response.on('end', () => {
          let json: Record<string, unknown> = {};
          try {
            json = JSON.parse(text) as Record<string, unknown>;
          } catch {
            // not JSON: the test looks at text
          }
          resolve({ status: response.statusCode ?? 0, headers: response.headers, text, json });
        });
      },
    );
    outgoing.on('error', reject);
    outgoing.end(options.body);
  });
}

/** A client_credentials token request with Basic authentication. */
export function tokenAt(
  url: string,
  client: { clientId: string; clientSecret: string },
  headers: Record<string, string> = {},
): Promise<Reply> {
  return send(url, {
    method: 'POST',
    headers: {
      'content-type': 'application/x-www-form-urlencoded',
      authorization: basicAuthorization(client.clientId, client.clientSecret),
      ...headers,
    },
    body: 'grant_type=client_credentials',
  });
}

/** POSTs `token=…` to introspection or revocation, authenticated as `client`. */
export function tokenCall(
  url: string,
  client: { clientId: string; clientSecret: string },
  token: string,
): Promise<Reply> {
  return send(url, {
    method: 'POST',
    headers: {
      'content-type': 'application/x-www-form-urlencoded',
      authorization: basicAuthorization(client.clientId, client.clientSecret),
    },
    body: new URLSearchParams({ token }).toString(),
  });
}

/** `tessera ARGS` from source, with only the given environment. */
export const cli = runSourceCli;

/** Creates tenant `name` and one client in it (through the store, as the CLI does). */
export async function tenantWithClient(
  context: TesseraContext,
  name: string,
): Promise<{ clientId: string; clientSecret: string }> {
  await context.store.createTenant(newTenant(name, {}));
  const registry = new ClientRegistry(context.store.forTenant(name), context.hasher, {
    actor: 'cli:test',
  });
  // tessera:introspect: it also introspects, revokes and reads the revocation feed.
  const { client, clientSecret } = await registry.create({
    name: `${name} client`,
    scope: 'tessera:introspect',
  });
  return { clientId: client.clientId, clientSecret };
}

/** The JWT's payload, unverified (the tests verify signatures with jose where it matters). */
export function claimsOf(token: string): Record<string, unknown> {
  return JSON.parse(Buffer.from(token.split('.')[1]!, 'base64url').toString()) as Record<
    string,
    unknown
  >;
}
