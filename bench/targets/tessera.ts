import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import {
  cpuSeconds,
  freePort,
  httpRequest,
  removeTempDir,
  runToCompletion,
  spawnTracked,
  stopProcess,
  trackTempDir,
  waitForHttp,
  type Spawned,
} from '../lib/proc.js';
import { basicAuthorization, checkTokenResponse, threadPoolFor, type Alg, type Credentials, type RunningTarget, type StartContext, type TargetSpec } from './common.js';

// The bin users run: it sizes libuv's pool for the signing algorithm before the CLI loads.
const cliPath = (root: string) => join(root, 'packages', 'server', 'bin', 'tessera.cjs');

/** One client registered through the CLI, the way an operator would. */
async function createClientWithCli(root: string, env: NodeJS.ProcessEnv, extra: string[] = []): Promise<Credentials> {
  const result = await runToCompletion(process.execPath, [cliPath(root), 'clients', 'create', '--name', 'bench', ...extra, '--json'], {
    env,
    cwd: root,
    timeoutMs: 30_000,
  });
  if (result.code !== 0) throw new Error(`clients create failed (${result.code}): ${result.stderr}`);
  const created = JSON.parse(result.stdout) as { client_id: string; client_secret: string };
  return { clientId: created.client_id, clientSecret: created.client_secret };
}

/** Many clients in one transaction through bench/seed-clients.ts (the server's own modules). */
async function seedClients(context: StartContext, dataDir: string, count: number, spread: number): Promise<Credentials[]> {
  const out = join(dataDir, 'bench-credentials.json');
  const result = await runToCompletion(
    process.execPath,
    ['--import', 'tsx', join(context.root, 'bench', 'seed-clients.ts'), '--data-dir', dataDir, '--count', String(count), '--spread', String(spread), '--out', out],
    { env: process.env, cwd: context.root, timeoutMs: Math.max(180_000, count * 1.2) },
  );
  if (result.code !== 0) throw new Error(`seeding failed (${result.code}${result.timedOut ? ', timed out' : ''}): ${result.stderr}`);
  context.log(`seeded: ${result.stdout.trim()}`);
  return JSON.parse(readFileSync(out, 'utf8')) as Credentials[];
}

/** Issue 21: many tenants, each with its own key and client, through bench/seed-tenants.ts. */
async function seedTenants(
  context: StartContext,
  dataDir: string,
  env: NodeJS.ProcessEnv,
  count: number,
  spread: number,
  alg: Alg,
): Promise<Array<Credentials & { tenant: string }>> {
  const out = join(dataDir, 'bench-tenants.json');
  const result = await runToCompletion(
    process.execPath,
    ['--import', 'tsx', join(context.root, 'bench', 'seed-tenants.ts'), '--data-dir', dataDir, '--count', String(count), '--spread', String(spread), '--alg', alg, '--out', out],
    // Each tenant's RSA key is generated here: about 0.25 CPU-s each.
    { env, cwd: context.root, timeoutMs: Math.max(300_000, count * 2_000) },
  );
  if (result.code !== 0) throw new Error(`seeding tenants failed (${result.code}${result.timedOut ? ', timed out' : ''}): ${result.stderr}`);
  context.log(`seeded: ${result.stdout.trim()}`);
  return JSON.parse(readFileSync(out, 'utf8')) as Array<Credentials & { tenant: string }>;
}

/**
 * An OTLP/HTTP receiver that reads and discards every export, in the harness process: what the
 * `-traced` target exports its spans to (the cost measured is Tessera's, not a collector's).
 */
async function startOtlpSink(): Promise<{ url: string; close: () => Promise<void> }> {
  const server: Server = createServer((request, response) => {
    request.resume();
    request.on('end', () => response.writeHead(200, { 'content-type': 'application/json' }).end('{}'));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

/**
 * A fresh SoftHSM2 token in the target's data directory and the settings that make
 * `tessera serve` generate and sign its keys there.
 */
function softhsmToken(dataDir: string): NodeJS.ProcessEnv {
  const module = '/usr/lib/softhsm/libsofthsm2.so';
  if (!existsSync(module)) throw new Error(`${module} is missing (apt-get install softhsm2)`);
  const tokenDir = join(dataDir, 'softhsm-tokens');
  mkdirSync(tokenDir);
  const conf = join(dataDir, 'softhsm2.conf');
  writeFileSync(conf, `directories.tokendir = ${tokenDir}\nobjectstore.backend = file\nlog.level = ERROR\n`);
  const env = { SOFTHSM2_CONF: conf };
  execFileSync('softhsm2-util', ['--init-token', '--free', '--label', 'tessera-bench', '--so-pin', '12345678', '--pin', '1234'], {
    env: { ...process.env, ...env },
    stdio: 'ignore',
  });
  return {
    ...env,
    TESSERA_SIGNING_KEYS: 'pkcs11',
    TESSERA_PKCS11_MODULE: module,
    TESSERA_PKCS11_TOKEN_LABEL: 'tessera-bench',
    TESSERA_PKCS11_PIN: '1234',
  };
}

const postgresBase = () => process.env.TESSERA_BENCH_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const replicaPort = () => process.env.TESSERA_REPLICA_PORT ?? '5433';
let schemas = 0;

/**
 * A schema of this target's own on the bench's PostgreSQL (the CLI and the server migrate it),
 * with the replica URL when asked for; the replica must be streaming (`.ci/replica-up`).
 */
async function postgresSchema(read: 'primary' | 'replica'): Promise<{ env: NodeJS.ProcessEnv; drop: () => Promise<void> }> {
  const schema = `tessera_bench_${read}_${process.pid}_${(schemas += 1)}`;
  const primary = new URL(postgresBase());
  primary.searchParams.set('schema', schema);
  const env: NodeJS.ProcessEnv = { DATABASE_URL: primary.toString() };
  if (read === 'replica') {
    const replica = new URL(primary.toString());
    replica.port = replicaPort();
    // pg takes no `schema` parameter; the probe only asks whether this is a standby.
    const bare = new URL(replica.toString());
    bare.search = '';
    const probe = new pg.Client({ connectionString: bare.toString() });
    try {
      await probe.connect();
      const { rows } = await probe.query<{ standby: boolean }>('SELECT pg_is_in_recovery() AS standby');
      if (rows[0]?.standby !== true) throw new Error(`${replica.host} is not a standby`);
    } catch (error) {
      throw new Error(`no streaming replica on port ${replica.port} (run .ci/replica-up): ${(error as Error).message}`);
    } finally {
      await probe.end().catch(() => {});
    }
    env.TESSERA_DATABASE_REPLICA = replica.toString();
  }
  const drop = async () => {
    const client = new pg.Client({ connectionString: postgresBase() });
    try {
      await client.connect();
      await client.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
    } catch {
      // best effort: a leftover schema is named after the bench's pid
    } finally {
      await client.end().catch(() => {});
    }
  };
  return { env, drop };
}

export function tesseraTarget(
  alg: Alg,
  options: {
    registeredClients?: number;
    spreadClients?: number;
    suffix?: string;
    workers?: number;
    /** Issue 19: the client carries this many claims (`--claim cN=…`). */
    claims?: number;
    /** Issue 19: a token hook on loopback (bench/hook-server.ts), answering cache_seconds or not. */
    hook?: { cacheSeconds?: number };
    keys?: 'pkcs11';
    /** Tracing on, every span exported to an OTLP receiver in the harness. */
    traced?: boolean;
    /** Issue 22: extra environment (TESSERA_REUSE_TOKENS, TESSERA_TOKEN_QUOTA) and its words. */
    env?: NodeJS.ProcessEnv;
    note?: string;
    /** `npm start` as shipped: serve's own worker count (one per core) and log level (info). */
    defaults?: boolean;
    /**
     * Issue 24: the store on PostgreSQL (a schema of its own, dropped after), read from the
     * streaming replica `.ci/replica-up` makes on port 5433 (`replica`) or from the primary.
     */
    postgres?: 'primary' | 'replica';
    /** Issue 21: this many tenants, the load spread over `spread` of them by path prefix. */
    tenants?: { count: number; spread: number };
  } = {},
): TargetSpec {
  // With tenants: one client per tenant.
  const registeredClients = options.tenants?.count ?? options.registeredClients ?? 1;
  const spreadClients = options.tenants?.spread ?? options.spreadClients ?? 1;
  return {
    name: `tessera-${alg.toLowerCase()}${options.suffix ?? ''}`,
    group: 'tessera',
    alg,
    threadPool: threadPoolFor(alg),
    registeredClients,
    spreadClients,
    description: options.tenants
      ? `Tessera ${alg}, ${options.tenants.count.toLocaleString('en-US')} tenants (each its own key and client), load spread across ${options.tenants.spread} of them at /t/NAME/oauth/token`
      : registeredClients > 1
        ? `Tessera ${alg}, ${registeredClients.toLocaleString('en-US')} clients registered, load spread across ${spreadClients.toLocaleString('en-US')}`
        : `Tessera ${alg}, one client${options.defaults ? ', npm start defaults (one worker per core, info logs)' : ''}${options.workers && options.workers > 1 ? `, ${options.workers} workers` : ''}` +
          (options.claims ? `, ${options.claims} claims` : '') +
          (options.hook ? `, token hook on loopback ${options.hook.cacheSeconds ? `(cache_seconds ${options.hook.cacheSeconds})` : '(no caching)'}` : '') +
          (options.keys === 'pkcs11' ? ', keys in a SoftHSM2 token (PKCS#11)' : '') +
          (options.traced ? ', tracing on (OTLP/HTTP to a local receiver)' : '') +
          (options.postgres === 'primary' ? ', PostgreSQL' : '') +
          (options.postgres === 'replica' ? ', PostgreSQL, reading a streaming replica (--database-replica)' : '') +
          (options.note ? `, ${options.note}` : ''),
    async start(context) {
      const dataDir = trackTempDir(mkdtempSync(join(tmpdir(), 'tessera-bench-')));
      const port = await freePort();
      const env: NodeJS.ProcessEnv = {
        ...process.env,
        NODE_ENV: 'production',
        TESSERA_DATA_DIR: dataDir,
        TESSERA_SIGNING_ALG: alg,
        TESSERA_LOG_LEVEL: context.logLevel,
        TESSERA_ISSUER: `http://127.0.0.1:${port}`,
        // One process, like the ceiling and oidc-provider (serve defaults to one worker per core);
        // the -2workers target measures the speed-up of `serve --workers 2`.
        TESSERA_WORKERS: String(options.workers ?? 1),
        PORT: String(port),
        HOST: '127.0.0.1',
      };
      if (options.defaults) {
        delete env.TESSERA_WORKERS;
        delete env.TESSERA_LOG_LEVEL;
      }
      for (const name of ['TESSERA_SIGN_ON', 'TESSERA_KEK', 'DATABASE_URL', 'TESSERA_PRESET', 'TESSERA_DEFAULT_AUDIENCE', 'TESSERA_TOKEN_TTL', 'TESSERA_TOKEN_HOOK', 'TESSERA_SCOPE_CLAIMS'])
        delete env[name];
      if (options.keys === 'pkcs11') Object.assign(env, softhsmToken(dataDir));
      const schema = options.postgres ? await postgresSchema(options.postgres) : undefined;
      if (schema) Object.assign(env, schema.env);
      Object.assign(env, options.env ?? {});
      const claimFlags = Array.from({ length: options.claims ?? 0 }, (_, i) => ['--claim', `c${i}=value number ${i}`]).flat();
      let hook: { spawned: Spawned; port: number } | undefined;
      for (const name of Object.keys(env)) if (name.startsWith('OTEL_') || name.startsWith('TESSERA_OTEL_')) delete env[name];
      const sink = options.traced ? await startOtlpSink() : undefined;
      if (sink) env.TESSERA_OTEL_EXPORTER_OTLP_ENDPOINT = sink.url;
      try {
        if (options.hook) {
          const hookPort = await freePort();
          const secret = 'bench-hook-secret';
          const args = ['--import', 'tsx', join(context.root, 'bench', 'hook-server.ts'), '--port', String(hookPort), '--secret', secret];
          if (options.hook.cacheSeconds) args.push('--cache-seconds', String(options.hook.cacheSeconds));
          hook = { spawned: spawnTracked(process.execPath, args, process.env, context.root), port: hookPort };
          await waitForHttp(`http://127.0.0.1:${hookPort}/stats`, hook.spawned);
          env.TESSERA_TOKEN_HOOK = `http://127.0.0.1:${hookPort}/hook`;
          env.TESSERA_TOKEN_HOOK_SECRET = secret;
        }
        const tenants = options.tenants
          ? await seedTenants(context, dataDir, env, options.tenants.count, options.tenants.spread, alg)
          : undefined;
        const clients =
          tenants ??
          (registeredClients > 1 && !options.tenants
            ? await seedClients(context, dataDir, registeredClients, spreadClients)
            : [await createClientWithCli(context.root, env, claimFlags)]);
        // Started only now: the server caches clients, and seeding wrote no change records.
        const spawnedAt = performance.now();
        const spawned = spawnTracked(process.execPath, [...context.nodeFlags, cliPath(context.root), 'serve'], env, context.root);
        const paths = tenants?.map(({ tenant }) => `/t/${tenant}/oauth/token`);
        const tokenUrl = `http://127.0.0.1:${port}${paths?.[0] ?? '/oauth/token'}`;
        const stop = async () => {
          await stopProcess(spawned);
          if (hook) await stopProcess(hook.spawned);
          await sink?.close();
          await schema?.drop();
          removeTempDir(dataDir);
        };
        try {
          await waitForHttp(`http://127.0.0.1:${port}/healthz`, spawned);
          // Start-up with a big registry: it must not load every client (issue 24).
          const startupMs = performance.now() - spawnedAt;
          const authorizations = clients.map(basicAuthorization);
          await checkTokenResponse(tokenUrl, authorizations[0]!, alg);
          const running: RunningTarget = { name: this.name, tokenUrl, pid: spawned.pid, authorizations, spawned, startupMs, stop, ...(paths ? { paths } : {}) };
          if (hook) {
            const { port: hookPort, spawned: hookProcess } = hook;
            running.hookStats = async () => ({
              calls: (JSON.parse((await httpRequest(`http://127.0.0.1:${hookPort}/stats`, { method: 'GET', timeoutMs: 5000 })).body) as { calls: number }).calls,
              cpuSeconds: cpuSeconds(hookProcess.pid),
            });
          }
          return running;
        } catch (error) {
          await stop();
          throw error;
        }
      } catch (error) {
        if (hook) await stopProcess(hook.spawned);
        await sink?.close();
        await schema?.drop();
        removeTempDir(dataDir);
        throw error;
      }
    },
  };
}
