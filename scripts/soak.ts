/**
 * `npm run soak -- --minutes N [--rate R]`: a steady mixed load against one Tessera server
 * process (tokens, introspection, revocation, admin changes, key rotation), reporting errors,
 * latency and the server's RSS over time. Loopback only; stops by itself.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Agent, request } from 'node:http';
import { parseArgs } from 'node:util';
import { basicAuthorization } from '@tessera/protocol';
import { spawnServe } from '../packages/server/test/support/serve-process.js';

const { values } = parseArgs({
  options: {
    minutes: { type: 'string', default: '10' },
    rate: { type: 'string', default: '1500' },
    concurrency: { type: 'string', default: '32' },
  },
});
const minutes = Number(values.minutes);
const rate = Number(values.rate);
const concurrency = Number(values.concurrency);
if (!(minutes > 0) || !(rate > 0) || !(concurrency > 0))
  throw new Error('--minutes, --rate and --concurrency must be positive numbers');

const root = new URL('..', import.meta.url).pathname;
const bin = join(root, 'packages/server/bin/tessera.cjs');
spawnSync('npx', ['tsc', '-b', 'packages/server'], { cwd: root, stdio: 'inherit' });
const dir = mkdtempSync(join(tmpdir(), 'tessera-soak-'));
const database = `sqlite:${join(dir, 'tessera.db')}`;
const env = {
  ...process.env,
  TESSERA_LOG_LEVEL: 'warn',
  TESSERA_JWKS_MAX_AGE: '5',
  TESSERA_AUTH_MAX_FAILURES_PER_ADDRESS: '1000000',
};
const cli = (...args: string[]) =>
  JSON.parse(
    spawnSync(process.execPath, [bin, ...args, '--json', '--database', database], {
      env,
      encoding: 'utf8',
    }).stdout,
  );
const worker = cli(
  'clients',
  'create',
  '--name',
  'soak worker',
  '--scope',
  'read write',
  '--token-ttl',
  '300',
);
// Every client's tokens live 300 s, so revocations (kept until the token's exp) and retiring
// keys (kept for the longest lifetime + 60 s) turn over within ~6 minutes: a run longer than
// that shows whether memory levels off once every bounded structure is full.
const gateway = cli(
  'clients',
  'create',
  '--name',
  'soak gateway',
  '--scope',
  'tessera:introspect',
  '--token-ttl',
  '300',
);
const admin = cli(
  'clients',
  'create',
  '--name',
  'soak admin',
  '--scope',
  'tessera:admin',
  '--token-ttl',
  '300',
);

const { child: server, port } = await spawnServe(['--database', database], env);
const base = `http://127.0.0.1:${port}`;
const stopAll = () => {
  server.kill('SIGTERM');
  rmSync(dir, { recursive: true, force: true });
};
process.once('SIGINT', () => {
  stopAll();
  process.exit(130);
});

type Kind = 'token' | 'introspect' | 'revoke' | 'admin' | 'rotate';
const stats = new Map<
  Kind,
  { count: number; errors: number; latencies: number[]; samples: string[] }
>();
let completed = 0;
const record = (kind: Kind, ms: number, ok: boolean, detail: string) => {
  let entry = stats.get(kind);
  if (!entry) stats.set(kind, (entry = { count: 0, errors: 0, latencies: [], samples: [] }));
  entry.count += 1;
  completed += 1;
  entry.latencies.push(ms);
  if (!ok) {
    entry.errors += 1;
    if (entry.samples.length < 5) entry.samples.push(detail);
  }
};
const form = (body: Record<string, string>) => new URLSearchParams(body).toString();
// node:http with keep-alive: fetch costs the load generator several times more CPU per
// request, and on a 2-core machine the generator competes with the server it measures.
const agent = new Agent({ keepAlive: true, maxSockets: concurrency });
const send = (method: string, path: string, headers: Record<string, string>, body: string) =>
  new Promise<{ status: number; text: string }>((resolve, reject) => {
    const req = request(`${base}${path}`, { method, agent, headers }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (text += chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, text }));
    });
    req.on('error', reject);
    req.end(body);
  });
const post = async (
  kind: Kind,
  path: string,
  init: { method?: string; headers: Record<string, string>; body: string },
  expect: number,
) => {
  const started = performance.now();
  try {
    const { status, text } = await send(init.method ?? 'POST', path, init.headers, init.body);
    record(kind, performance.now() - started, status === expect, `${status} ${text.slice(0, 120)}`);
    return text;
  } catch (error) {
    record(kind, performance.now() - started, false, String(error));
    return '';
  }
};
const tokenFor = async (
  client: { client_id: string; client_secret: string },
  kind: Kind = 'token',
) => {
  const text = await post(
    kind,
    '/oauth/token',
    {
      headers: {
        authorization: basicAuthorization(client.client_id, client.client_secret),
        'content-type': 'application/x-www-form-urlencoded',
      },
      body: form({ grant_type: 'client_credentials' }),
    },
    200,
  );
  try {
    return (JSON.parse(text) as { access_token: string }).access_token;
  } catch {
    return '';
  }
};

let adminToken = await tokenFor(admin);
const rss: Array<{ second: number; mib: number; requestsPerSecond: number }> = [];
const started = Date.now();
const deadline = started + minutes * 60_000;
let completedAtLastSample = 0;
const sampleRss = () => {
  const status = readFileSync(`/proc/${server.pid}/status`, 'utf8');
  const kb = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0);
  const lastSecond = rss.at(-1)?.second ?? 0;
  const second = Math.round((Date.now() - started) / 1000);
  rss.push({
    second,
    mib: Math.round((kb / 1024) * 10) / 10,
    requestsPerSecond: Math.round(
      (completed - completedAtLastSample) / Math.max(1, second - lastSecond),
    ),
  });
  completedAtLastSample = completed;
};
const rssTimer = setInterval(sampleRss, 5000);
const rotateTimer = setInterval(async () => {
  adminToken = await tokenFor(admin, 'admin');
  await post(
    'rotate',
    '/admin/v1/keys/rotate',
    {
      headers: { authorization: `Bearer ${adminToken}`, 'content-type': 'application/json' },
      body: '{"propagation_seconds":5}',
    },
    201,
  );
}, 60_000);

let issued = 0;
const perWorkerInterval = (concurrency / rate) * 1000;
const loops = Array.from({ length: concurrency }, async (_, index) => {
  let next = Date.now() + (index * perWorkerInterval) / concurrency;
  while (Date.now() < deadline) {
    const wait = next - Date.now();
    if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
    next += perWorkerInterval;
    const roll = Math.random();
    if (roll < 0.85) {
      await tokenFor(worker);
    } else if (roll < 0.95) {
      const token = await tokenFor(worker);
      await post(
        'introspect',
        '/oauth/introspect',
        {
          headers: {
            authorization: basicAuthorization(gateway.client_id, gateway.client_secret),
            'content-type': 'application/x-www-form-urlencoded',
          },
          body: form({ token }),
        },
        200,
      );
    } else if (roll < 0.99) {
      const token = await tokenFor(worker);
      await post(
        'revoke',
        '/oauth/revoke',
        {
          headers: {
            authorization: basicAuthorization(worker.client_id, worker.client_secret),
            'content-type': 'application/x-www-form-urlencoded',
          },
          body: form({ token }),
        },
        200,
      );
    } else {
      // Create, then delete: admin writes at a steady rate without growing the registry, so
      // memory should stay flat.
      const created = await post(
        'admin',
        '/admin/v1/clients',
        {
          headers: { authorization: `Bearer ${adminToken}`, 'content-type': 'application/json' },
          body: JSON.stringify({ name: `soak ${issued++}`, scope: 'read' }),
        },
        201,
      );
      const clientId = (JSON.parse(created || '{}') as { client_id?: string }).client_id;
      if (clientId) {
        await post(
          'admin',
          `/admin/v1/clients/${encodeURIComponent(clientId)}`,
          { method: 'DELETE', headers: { authorization: `Bearer ${adminToken}` }, body: '' },
          204,
        );
      }
    }
  }
});
await Promise.all(loops);
clearInterval(rssTimer);
clearInterval(rotateTimer);
sampleRss();
stopAll();

// Short runs do not replace the published 10-minute figures.
const resultName = minutes >= 10 ? 'soak' : 'soak-partial';
const percentile = (values: number[], p: number) => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted.length === 0
    ? 0
    : Math.round(sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]! * 10) /
        10;
};
const seconds = (Date.now() - started) / 1000;
const rows = [...stats.entries()].map(([kind, entry]) => ({
  kind,
  count: entry.count,
  per_second: Math.round(entry.count / seconds),
  errors: entry.errors,
  p50_ms: percentile(entry.latencies, 50),
  p99_ms: percentile(entry.latencies, 99),
  error_samples: entry.samples,
}));
const early = rss.find((sample) => sample.second >= 10) ?? rss[0]!;
const last = rss.at(-1)!;
const growth = Math.round(((last.mib - early.mib) / early.mib) * 1000) / 10;
const report = {
  date: new Date().toISOString(),
  minutes,
  target_rate: rate,
  concurrency,
  seconds: Math.round(seconds),
  rows,
  rss_mib: rss,
  rss_growth_after_10s_percent: growth,
};
mkdirSync(join(root, 'bench/results'), { recursive: true });
writeFileSync(
  join(root, `bench/results/${resultName}.json`),
  `${JSON.stringify(report, null, 2)}\n`,
);
const table = [
  `# Soak: ${minutes} min, target ${rate} req/s, ${concurrency} loops (${report.date})`,
  '',
  '| kind | requests | per second | errors | p50 ms | p99 ms |',
  '|---|--:|--:|--:|--:|--:|',
  ...rows.map(
    (row) =>
      `| ${row.kind} | ${row.count} | ${row.per_second} | ${row.errors} | ${row.p50_ms} | ${row.p99_ms} |`,
  ),
  '',
  `Server RSS: ${early.mib} MiB at ${early.second} s, ${last.mib} MiB at ${last.second} s (${growth >= 0 ? '+' : ''}${growth} %); samples every 5 s in ${resultName}.json.`,
].join('\n');
writeFileSync(join(root, `bench/results/${resultName}.md`), `${table}\n`);
console.log(table);
for (const row of rows)
  if (row.error_samples.length) console.log(`${row.kind} errors:`, row.error_samples);
process.exit(rows.some((row) => row.errors > 0) ? 1 : 0);
