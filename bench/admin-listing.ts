/**
 * The admin client list at a million clients (issue 24): `GET /admin/v1/clients?limit=&cursor=&q=`
 * p99 on SQLite and on PostgreSQL. Seeds the registry (bench/seed-clients.ts), starts
 * `tessera serve`, then sends requests one at a time (an operator paging, not a load test):
 * a walk of consecutive pages from the start, pages that start deep in the list (cursors built
 * as the server builds them, from clients spread over the whole registry), and prefix searches
 * by client_id and by name. The first 20 requests warm up and are not counted.
 */
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { freePort, httpRequest, removeTempDir, runToCompletion, spawnTracked, stopProcess, trackTempDir, waitForHttp } from './lib/proc.js';
import { basicAuthorization, type Credentials, type StartContext } from './targets/common.js';

export type ListingStore = 'sqlite' | 'postgres';

export interface ListingKind {
  requests: number;
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
}

export interface AdminListingResult {
  name: string;
  store: ListingStore;
  status: 'ok' | 'failed';
  error?: string;
  registeredClients: number;
  seedSeconds?: number;
  startupMs?: number;
  /** Every counted request, all kinds together. */
  all?: ListingKind;
  byKind?: Record<string, ListingKind>;
}

const pageSize = 100;
const warmup = 20;

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return 0;
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
}

function summary(samples: number[]): ListingKind {
  const sorted = [...samples].sort((a, b) => a - b);
  const round = (n: number) => Math.round(n * 100) / 100;
  return { requests: sorted.length, p50Ms: round(percentile(sorted, 50)), p99Ms: round(percentile(sorted, 99)), maxMs: round(sorted.at(-1) ?? 0) };
}

/** The PostgreSQL database the bench uses (its own schema, dropped afterwards). */
const postgresBase = () => process.env.TESSERA_BENCH_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';

async function dropSchema(schema: string): Promise<void> {
  const client = new pg.Client({ connectionString: postgresBase() });
  await client.connect();
  try {
    await client.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
  } finally {
    await client.end();
  }
}

export async function runAdminListing(context: StartContext, store: ListingStore, count: number): Promise<AdminListingResult> {
  const name = `admin-listing-${store}`;
  const base: AdminListingResult = { name, store, status: 'failed', registeredClients: count };
  const dataDir = trackTempDir(mkdtempSync(join(tmpdir(), 'tessera-bench-list-')));
  const schema = `tessera_bench_list_${process.pid}`;
  let database: string | undefined;
  if (store === 'postgres') {
    const url = new URL(postgresBase());
    url.searchParams.set('schema', schema);
    database = url.toString();
  }
  let spawned;
  try {
    const out = join(dataDir, 'spread.json');
    const adminOut = join(dataDir, 'admin.json');
    const seedStarted = performance.now();
    const seeded = await runToCompletion(
      process.execPath,
      [
        '--import',
        'tsx',
        join(context.root, 'bench', 'seed-clients.ts'),
        '--data-dir',
        dataDir,
        ...(database ? ['--database', database] : []),
        '--count',
        String(count),
        '--spread',
        '1000',
        '--out',
        out,
        '--admin-out',
        adminOut,
      ],
      { env: process.env, cwd: context.root, timeoutMs: Math.max(180_000, count * 1.2) },
    );
    if (seeded.code !== 0) throw new Error(`seeding failed (${seeded.code}${seeded.timedOut ? ', timed out' : ''}): ${seeded.stderr.slice(-2000)}`);
    const seedSeconds = (performance.now() - seedStarted) / 1000;
    context.log(`${name}: seeded ${seeded.stdout.trim()}`);
    const spread = JSON.parse(readFileSync(out, 'utf8')) as Credentials[];
    const admin = JSON.parse(readFileSync(adminOut, 'utf8')) as Credentials;

    const port = await freePort();
    const env: NodeJS.ProcessEnv = {
      ...process.env,
      NODE_ENV: 'production',
      TESSERA_DATA_DIR: dataDir,
      TESSERA_LOG_LEVEL: context.logLevel,
      TESSERA_ISSUER: `http://127.0.0.1:${port}`,
      TESSERA_WORKERS: '1',
      PORT: String(port),
      HOST: '127.0.0.1',
    };
    for (const variable of ['TESSERA_KEK', 'TESSERA_PRESET', 'TESSERA_DATABASE_REPLICA']) delete env[variable];
    if (database) env.DATABASE_URL = database;
    else delete env.DATABASE_URL;
    const spawnedAt = performance.now();
    spawned = spawnTracked(process.execPath, [join(context.root, 'packages', 'server', 'bin', 'tessera.cjs'), 'serve'], env, context.root);
    const origin = `http://127.0.0.1:${port}`;
    await waitForHttp(`${origin}/healthz`, spawned, 120_000);
    const startupMs = performance.now() - spawnedAt;

    const tokenReply = await httpRequest(`${origin}/oauth/token`, {
      method: 'POST',
      headers: { Authorization: basicAuthorization(admin), 'Content-Type': 'application/x-www-form-urlencoded' },
      body: 'grant_type=client_credentials',
      timeoutMs: 5000,
    });
    if (tokenReply.status !== 200) throw new Error(`admin token: ${tokenReply.status} ${tokenReply.body.slice(0, 300)}`);
    const bearer = `Bearer ${(JSON.parse(tokenReply.body) as { access_token: string }).access_token}`;

    const samples = new Map<string, number[]>();
    let sent = 0;
    const list = async (kind: string, query: Record<string, string>) => {
      const started = performance.now();
      const reply = await httpRequest(`${origin}/admin/v1/clients?${new URLSearchParams(query)}`, { headers: { Authorization: bearer }, timeoutMs: 10_000 });
      const elapsed = performance.now() - started;
      if (reply.status !== 200) throw new Error(`${kind}: ${reply.status} ${reply.body.slice(0, 300)}`);
      sent += 1;
      if (sent > warmup) (samples.get(kind) ?? samples.set(kind, []).get(kind)!).push(elapsed);
      return JSON.parse(reply.body) as { clients: Array<{ client_id: string; created_at: string }>; next_cursor: string | null };
    };

    // 1. Consecutive pages from the start.
    let cursor: string | null = null;
    for (let i = 0; i < 200 + warmup; i += 1) {
      const page = await list('walk', { limit: String(pageSize), ...(cursor ? { cursor } : {}) });
      cursor = page.next_cursor;
      if (!cursor) break;
    }
    // 2. Pages starting deep in the list, and 3./4. prefix searches, over clients spread evenly.
    for (const [i, client] of spread.slice(0, 200).entries()) {
      // All but the last digit: the client and its nine neighbours.
      const found = await list('search-id', { q: client.clientId.slice(0, -1), limit: '20' });
      const self = found.clients.find((c) => c.client_id === client.clientId);
      if (!self) throw new Error(`search by id prefix did not find ${client.clientId}`);
      const deepCursor = Buffer.from(JSON.stringify([Date.parse(self.created_at) / 1000, self.client_id])).toString('base64url');
      await list('deep-page', { limit: String(pageSize), cursor: deepCursor });
      // Five of the seven digits: a hundred names.
      await list('search-name', { q: `bench-${String((i * 4_999) % count).padStart(7, '0').slice(0, 5)}`, limit: String(pageSize) });
    }
    const byKind = Object.fromEntries([...samples].map(([kind, values]) => [kind, summary(values)]));
    const all = summary([...samples.values()].flat());
    context.log(`${name}: ${all.requests} requests, p50 ${all.p50Ms} ms, p99 ${all.p99Ms} ms, max ${all.maxMs} ms; start-up ${Math.round(startupMs)} ms`);
    return { ...base, status: 'ok', seedSeconds, startupMs, all, byKind };
  } catch (error) {
    context.log(`${name}: failed: ${String(error)}`);
    return { ...base, error: String(error) };
  } finally {
    if (spawned) await stopProcess(spawned);
    removeTempDir(dataDir);
    if (store === 'postgres') await dropSchema(schema).catch(() => {});
  }
}
