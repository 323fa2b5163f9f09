import { createRequire } from 'node:module';
import { freePort, httpRequest, stopProcess, type Spawned } from '../lib/proc.js';

const { threadPoolSize } = createRequire(import.meta.url)('../../packages/server/bin/thread-pool.cjs') as {
  threadPoolSize(argv: string[], env: NodeJS.ProcessEnv): number | undefined;
};

/**
 * The libuv pool `tessera serve` starts for `alg` (packages/server/bin/thread-pool.cjs). Every
 * target of that algorithm gets the same, so a ratio compares the code, not the tuning.
 */
export function threadPoolEnv(alg: Alg): NodeJS.ProcessEnv {
  const size = threadPoolSize([], { ...process.env, TESSERA_SIGNING_ALG: alg });
  return size === undefined ? {} : { UV_THREADPOOL_SIZE: String(size) };
}

/** libuv's pool size in a target of `alg` (4, Node's default, unless UV_THREADPOOL_SIZE says). */
export function threadPoolFor(alg: Alg): number {
  return Number({ ...process.env, ...threadPoolEnv(alg) }.UV_THREADPOOL_SIZE) || 4;
}

export type Alg = 'RS256' | 'ES256' | 'EdDSA';

export interface Credentials {
  clientId: string;
  clientSecret: string;
}

/** A server process started for one benchmark, ready to take token requests. */
export interface RunningTarget {
  name: string;
  tokenUrl: string;
  pid: number;
  /** One Authorization header value per client that requests are spread across. */
  authorizations: string[];
  /** Issue 21: each authorization's token path (its tenant's), when not all use `tokenUrl`. */
  paths?: string[];
  spawned: Spawned;
  /** From spawning the server to its first answer (/healthz), when the target measures it. */
  startupMs?: number;
  stop(): Promise<void>;
  /** With a token hook: the hook process's calls so far and CPU-seconds (its own cost). */
  hookStats?: () => Promise<{ calls: number; cpuSeconds: number }>;
}

export interface TargetSpec {
  name: string;
  group: 'tessera' | 'oidc-provider' | 'ceiling';
  alg: Alg;
  /** libuv pool threads the server process runs with. */
  threadPool: number;
  /** Clients registered, and how many of them the load is spread across. */
  registeredClients: number;
  spreadClients: number;
  description: string;
  start(context: StartContext): Promise<RunningTarget>;
}

export interface StartContext {
  root: string;
  logLevel: string;
  /** Extra node flags for the server process (e.g. --cpu-prof). */
  nodeFlags: string[];
  log(message: string): void;
}

/** RFC 6749 §2.3.1: form-urlencode each part, then Basic. */
export function basicAuthorization({ clientId, clientSecret }: Credentials): string {
  const form = (s: string) => encodeURIComponent(s).replace(/%20/g, '+');
  return `Basic ${Buffer.from(`${form(clientId)}:${form(clientSecret)}`).toString('base64')}`;
}

export const tokenBody = 'grant_type=client_credentials';

/**
 * One real token request before the load starts: the target must answer 200 with a JWT
 * access token signed with the expected algorithm, or the figures would mean nothing.
 */
export async function checkTokenResponse(tokenUrl: string, authorization: string, alg: Alg): Promise<void> {
  const reply = await httpRequest(tokenUrl, {
    method: 'POST',
    headers: { Authorization: authorization, 'Content-Type': 'application/x-www-form-urlencoded' },
    body: tokenBody,
    timeoutMs: 5000,
  });
  if (reply.status !== 200) throw new Error(`token request answered ${reply.status}: ${reply.body.slice(0, 500)}`);
  if (!String(reply.headers['cache-control']).includes('no-store')) throw new Error('token response lacks Cache-Control: no-store');
  const body = JSON.parse(reply.body) as { access_token?: unknown; token_type?: unknown };
  if (typeof body.access_token !== 'string' || body.access_token.split('.').length !== 3) {
    throw new Error(`token response has no JWT access_token: ${reply.body.slice(0, 300)}`);
  }
  const header = JSON.parse(Buffer.from(body.access_token.split('.')[0]!, 'base64url').toString('utf8')) as { alg?: string };
  if (header.alg !== alg) throw new Error(`access token is signed with ${String(header.alg)}, expected ${alg}`);
}

export { freePort, stopProcess };
