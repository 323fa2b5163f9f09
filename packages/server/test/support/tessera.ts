/**
 * Starts a real Tessera server for tests: a real SQLite file in a fresh temp directory, a
 * real socket on a loopback port chosen by the OS, the issuer set to that address.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig, type ConfigOverrides } from '../../src/config.js';
import { createLogger } from '../../src/http/logger.js';
import { ClientRegistry } from '../../src/registry/client-registry.js';
import { startServer, type RunningServer } from '../../src/start.js';

export interface TestClientOptions {
  name?: string;
  scope?: string;
  audience?: string | string[];
  tokenTtl?: number;
  authMethod?: 'client_secret_basic' | 'client_secret_post' | 'any';
}

export interface TestTessera {
  /** Equals `url`: discovery, `iss` and endpoints all name the real address. */
  issuer: string;
  url: string;
  dataDir: string;
  database: string;
  server: RunningServer;
  createClient(options?: TestClientOptions): Promise<{ clientId: string; clientSecret: string }>;
  registry: ClientRegistry;
  close(): Promise<void>;
}

export interface StartOptions extends ConfigOverrides {
  /** Reuse a data directory (e.g. to restart on the same database). */
  dataDir?: string;
  nowSeconds?: () => number;
  /** Environment the server reads (TESSERA_KEK…); defaults to none of the host's. */
  env?: NodeJS.ProcessEnv;
  /** Receives the server's pino log lines (level `logLevel`, default silent). */
  logStream?: { write(line: string): void };
}

export async function startTessera(options: StartOptions = {}): Promise<TestTessera> {
  const { nowSeconds, env = {}, logStream, ...overrides } = options;
  const dataDir = overrides.dataDir ?? (await mkdtemp(join(tmpdir(), 'tessera-test-')));
  const ownsDataDir = overrides.dataDir === undefined;
  const config = loadConfig(env, {
    logLevel: 'silent',
    port: 0,
    host: '127.0.0.1',
    ...overrides,
    dataDir,
  });
  const logger = logStream ? createLogger(config.logLevel, logStream) : undefined;
  const server = await startServer(config, { env, nowSeconds, ...(logger ? { logger } : {}) });
  // The port is known only after listening; the issuer is read per request, so set it now.
  server.context.config.issuer = server.url;
  const registry = new ClientRegistry(server.context.store, server.context.hasher, { nowSeconds });
  return {
    issuer: server.url,
    url: server.url,
    dataDir,
    database: config.database,
    server,
    registry,
    async createClient(client: TestClientOptions = {}) {
      const input = {
        name: client.name ?? 'test client',
        scope: client.scope,
        audiences:
          client.audience === undefined ? undefined : ([] as string[]).concat(client.audience),
        tokenTtl: client.tokenTtl ?? null,
        authMethod: client.authMethod,
      };
      const { client: created, clientSecret } = await registry.create(input);
      return { clientId: created.clientId, clientSecret };
    },
    async close() {
      await server.close();
      if (ownsDataDir) await rm(dataDir, { recursive: true, force: true });
    },
  };
}

/** `Authorization: Basic` per RFC 6749 §2.3.1 (form-urlencoded, then base64). */
export { basicAuthorization } from '@tessera/protocol';

/** POSTs a form to the token endpoint and returns status, headers and parsed JSON body. */
export async function postForm(
  url: string,
  form: Record<string, string> | string,
  headers: Record<string, string> = {},
): Promise<{ status: number; headers: Headers; body: unknown; text: string }> {
  const body = typeof form === 'string' ? form : new URLSearchParams(form).toString();
  const response = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers },
    body,
  });
  const text = await response.text();
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    parsed = undefined;
  }
  return { status: response.status, headers: response.headers, body: parsed, text };
}
