/**
 * Issue 21: shared steps of the tenant tests (tenants.test.ts over SQLite,
 * postgres-tenants.test.ts over PostgreSQL): raw HTTP with a chosen Host header, the CLI run
 * from source, and a tenant with a client.
 */
import { spawn } from 'node:child_process';
import { request } from 'node:http';
import { fileURLToPath } from 'node:url';
import { ClientRegistry } from '../../src/registry/client-registry.js';
import type { TesseraContext } from '../../src/context.js';
import { basicAuthorization } from './tessera.js';

const repoRoot = fileURLToPath(new URL('../../../../', import.meta.url));
const cliMain = fileURLToPath(new URL('../../src/cli/main.ts', import.meta.url));

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
export function cli(
  args: string[],
  env: NodeJS.ProcessEnv,
): Promise<{ status: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', cliMain, ...args], {
      cwd: repoRoot,
      env: { PATH: process.env.PATH, HOME: process.env.HOME, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk));
    child.on('error', reject);
    child.on('close', (status) => resolve({ status, stdout, stderr }));
  });
}

/** Creates tenant `name` and one client in it (through the store, as the CLI does). */
export async function tenantWithClient(
  context: TesseraContext,
  name: string,
  settings: { issuer?: string } = {},
): Promise<{ clientId: string; clientSecret: string }> {
  await context.store.createTenant({
    name,
    issuer: settings.issuer ?? null,
    preset: null,
    tokenTtl: null,
    signingAlg: null,
    defaultAudience: null,
    settings: {},
  });
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

export async function eventually(ms: number, check: () => Promise<boolean>): Promise<boolean> {
  const deadline = Date.now() + ms;
  for (;;) {
    if (await check()) return true;
    if (Date.now() >= deadline) return false;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}
