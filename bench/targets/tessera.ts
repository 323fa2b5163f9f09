import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  freePort,
  removeTempDir,
  runToCompletion,
  spawnTracked,
  stopProcess,
  trackTempDir,
  waitForHttp,
} from '../lib/proc.js';
import { basicAuthorization, checkTokenResponse, threadPoolFor, type Alg, type Credentials, type StartContext, type TargetSpec } from './common.js';

// The bin users run: it sizes libuv's pool for the signing algorithm before the CLI loads.
const cliPath = (root: string) => join(root, 'packages', 'server', 'bin', 'tessera.cjs');

/** One client registered through the CLI, the way an operator would. */
async function createClientWithCli(root: string, env: NodeJS.ProcessEnv): Promise<Credentials> {
  const result = await runToCompletion(process.execPath, [cliPath(root), 'clients', 'create', '--name', 'bench', '--json'], {
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

export function tesseraTarget(
  alg: Alg,
  options: { registeredClients?: number; spreadClients?: number; suffix?: string; workers?: number } = {},
): TargetSpec {
  const registeredClients = options.registeredClients ?? 1;
  const spreadClients = options.spreadClients ?? 1;
  return {
    name: `tessera-${alg.toLowerCase()}${options.suffix ?? ''}`,
    group: 'tessera',
    alg,
    threadPool: threadPoolFor(alg),
    registeredClients,
    spreadClients,
    description:
      registeredClients > 1
        ? `Tessera ${alg}, ${registeredClients.toLocaleString('en-US')} clients registered, load spread across ${spreadClients.toLocaleString('en-US')}`
        : `Tessera ${alg}, one client${options.workers && options.workers > 1 ? `, ${options.workers} workers` : ''}`,
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
      for (const name of ['TESSERA_KEK', 'DATABASE_URL', 'TESSERA_PRESET', 'TESSERA_DEFAULT_AUDIENCE', 'TESSERA_TOKEN_TTL']) delete env[name];
      try {
        const clients =
          registeredClients > 1 ? await seedClients(context, dataDir, registeredClients, spreadClients) : [await createClientWithCli(context.root, env)];
        // Started only now: the server caches clients, and seeding wrote no change records.
        const spawnedAt = performance.now();
        const spawned = spawnTracked(process.execPath, [...context.nodeFlags, cliPath(context.root), 'serve'], env, context.root);
        const tokenUrl = `http://127.0.0.1:${port}/oauth/token`;
        const stop = async () => {
          await stopProcess(spawned);
          removeTempDir(dataDir);
        };
        try {
          await waitForHttp(`http://127.0.0.1:${port}/healthz`, spawned);
          // Start-up with a big registry: it must not load every client (issue 24).
          const startupMs = performance.now() - spawnedAt;
          const authorizations = clients.map(basicAuthorization);
          await checkTokenResponse(tokenUrl, authorizations[0]!, alg);
          return { name: this.name, tokenUrl, pid: spawned.pid, authorizations, spawned, startupMs, stop };
        } catch (error) {
          await stop();
          throw error;
        }
      } catch (error) {
        removeTempDir(dataDir);
        throw error;
      }
    },
  };
}
