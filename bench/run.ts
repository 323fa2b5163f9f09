/**
 * `npm run bench`: Tessera's token endpoint beside oidc-provider and a minimal node:http
 * ceiling, plus the 100k-client scenario, the verifier's and client's micro-benchmarks and,
 * with --long, RSS growth under 60 s of full load. See bench/README.md.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, platform, release, totalmem } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { runAdminListing, type AdminListingResult, type ListingStore } from './admin-listing.js';
import { renderChart } from './chart.js';
import { collectOpensslSpeed, opensslRsa2048SignRate, type OpensslSpeed } from './openssl-speed.js';
import { drive } from './lib/load.js';
import { killAllSync } from './lib/proc.js';
import { microBenches, runMicroBench, type MicroResult } from './micro.js';
import { computeRatios, ratiosTable, renderMarkdown, resultsTable, type MachineInfo, type Results, type RoundResult, type RssLongResult, type TargetResult } from './report.js';
import { ceilingTarget } from './targets/ceiling.js';
import type { StartContext, TargetSpec } from './targets/common.js';
import { oidcProviderTarget } from './targets/oidc-provider.js';
import { tesseraTarget } from './targets/tessera.js';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const usage = `usage: npm run bench -- [options]
  --only NAME[,NAME]   run only these (exact names or a prefix before '-': tessera, ceiling, …)
                       names: tessera-rs256 tessera-es256 tessera-eddsa oidc-provider ceiling-rs256
                       ceiling-es256 ceiling-eddsa tessera-rs256-100k tessera-rs256-2workers tessera-rs256-loop
                       tessera-rs256-2workers-loop tessera-rs256-default tessera-rs256-postgres tessera-rs256-replica tessera-rs256-pkcs11
                       tessera-rs256-claims10 tessera-rs256-hook-cached tessera-rs256-hook-uncached
                       tessera-rs256-traced tessera-rs256-1m admin-listing-sqlite admin-listing-postgres
                       tessera-rs256-reuse ceiling-nosign tessera-rs256-quota tessera-rs256-1000tenants
                       verifier client sign-hop rss-60s
  --duration S         measured seconds per target (default 10)
  --rounds N           runs per target, alternating order; the best req/s is reported (default 2)
  --warmup S           discarded warm-up seconds (default 3)
  --connections N      autocannon connections (default 50)
  --long               also measure RSS growth over a 60 s full-load run (rss-60s)
  --long-duration S    length of that run (default 60)
  --clients N          registered clients in the scale scenario (default 100000)
  --spread N           clients the scale scenario's load is spread across (default 10000)
  --million N          registered clients of the million-client rows (default 1000000):
                       tessera-rs256-1m, admin-listing-sqlite, admin-listing-postgres
  --million-spread N   clients tessera-rs256-1m's load is spread across (default 100000)
  --tenants N          tenants of tessera-rs256-1000tenants, each with its own key and client (default 1000)
  --tenant-spread N    tenants its load is spread across, /t/NAME/oauth/token (default 100)
  --profile            start servers with --cpu-prof (profiles in bench/results/profiles)
  --no-build           skip \`tsc -b packages/server\`
  --micro-timeout S    time limit for each micro-benchmark (default 120)`;

const { values } = parseArgs({
  options: {
    only: { type: 'string', multiple: true },
    duration: { type: 'string', default: '10' },
    rounds: { type: 'string', default: '2' },
    warmup: { type: 'string', default: '3' },
    connections: { type: 'string', default: '50' },
    long: { type: 'boolean', default: false },
    'long-duration': { type: 'string', default: '60' },
    clients: { type: 'string', default: '100000' },
    spread: { type: 'string', default: '10000' },
    million: { type: 'string', default: '1000000' },
    'million-spread': { type: 'string', default: '100000' },
    tenants: { type: 'string', default: '1000' },
    'tenant-spread': { type: 'string', default: '100' },
    profile: { type: 'boolean', default: false },
    'no-build': { type: 'boolean', default: false },
    'micro-timeout': { type: 'string', default: '120' },
    help: { type: 'boolean', short: 'h', default: false },
  },
});
if (values.help) {
  console.log(usage);
  process.exit(0);
}

function positive(name: string, value: string): number {
  const n = Number(value);
  if (!Number.isFinite(n) || n <= 0) {
    console.error(`--${name} must be a positive number, got ${value}\n${usage}`);
    process.exit(2);
  }
  return n;
}
const durationSeconds = positive('duration', values.duration);
const warmupSeconds = Number(values.warmup) >= 0 ? Number(values.warmup) : 3;
const rounds = Math.round(positive('rounds', values.rounds));
const connections = Math.round(positive('connections', values.connections));
const longSeconds = positive('long-duration', values['long-duration']);
const registered = Math.round(positive('clients', values.clients));
const spread = Math.round(positive('spread', values.spread));
const million = Math.round(positive('million', values.million));
const millionSpread = Math.round(positive('million-spread', values['million-spread']));
const tenantCount = Math.round(positive('tenants', values.tenants));
const tenantSpread = Math.round(positive('tenant-spread', values['tenant-spread']));
const only = values.only?.flatMap((v) => v.split(',')).map((v) => v.trim()).filter(Boolean) ?? null;

const resultsDir = join(root, 'bench', 'results');
const profileDir = join(resultsDir, 'profiles');
const log = (message: string) => console.log(`[bench] ${message}`);

// Every child dies with the harness: normal exit, error, Ctrl-C or SIGTERM.
process.on('exit', killAllSync);
for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
  process.on(signal, () => {
    log(`${signal}: stopping every server`);
    killAllSync();
    process.exit(130);
  });
}

// Interleaved so each Tessera run sits next to what it is compared with.
const targets: TargetSpec[] = [
  tesseraTarget('RS256'),
  ceilingTarget('RS256'),
  oidcProviderTarget(),
  tesseraTarget('ES256'),
  ceilingTarget('ES256'),
  tesseraTarget('EdDSA'),
  ceilingTarget('EdDSA'),
  tesseraTarget('RS256', { registeredClients: registered, spreadClients: spread, suffix: '-100k' }),
  tesseraTarget('RS256', { workers: 2, suffix: '-2workers' }),
  // Issue 24: signing on the event loop (--sign-on event-loop), each against its neighbour on
  // the pool, and what `npm start` runs (its defaults: one worker per core, info logs).
  tesseraTarget('RS256', { suffix: '-loop', env: { TESSERA_SIGN_ON: 'event-loop' }, note: 'signing on the event loop' }),
  tesseraTarget('RS256', { workers: 2, suffix: '-2workers-loop', env: { TESSERA_SIGN_ON: 'event-loop' }, note: 'signing on the event loop' }),
  tesseraTarget('RS256', { defaults: true, suffix: '-default' }),
  // Issue 24: an instance reading a streaming replica (.ci/replica-up), against one reading the
  // PostgreSQL primary, in the same run.
  tesseraTarget('RS256', { postgres: 'primary', suffix: '-postgres' }),
  tesseraTarget('RS256', { postgres: 'replica', suffix: '-replica' }),
  tesseraTarget('RS256', { keys: 'pkcs11', suffix: '-pkcs11' }),
  // Issue 19: claims and the token hook, each compared with tessera-rs256 of the same run.
  tesseraTarget('RS256', { claims: 10, suffix: '-claims10' }),
  tesseraTarget('RS256', { hook: { cacheSeconds: 300 }, suffix: '-hook-cached' }),
  tesseraTarget('RS256', { hook: {}, suffix: '-hook-uncached' }),
  tesseraTarget('RS256', { traced: true, suffix: '-traced' }),
  // Issue 24: a million registered, 100,000 in use (SQLite, one transaction per 10,000 seeded).
  tesseraTarget('RS256', { registeredClients: million, spreadClients: millionSpread, suffix: '-1m' }),
  // Issue 22: reuse of a still-fresh token, against fresh signing and the no-signing floor;
  // a quota far above the load, against no quota.
  tesseraTarget('RS256', { suffix: '-reuse', env: { TESSERA_REUSE_TOKENS: '1' }, note: 'token reuse on' }),
  ceilingTarget('RS256', { noSign: true }),
  tesseraTarget('RS256', { suffix: '-quota', env: { TESSERA_TOKEN_QUOTA: '100000000/min' }, note: 'quota 100000000/min' }),
  // Issue 21: 1,000 tenants, each with its own key and client, the load over 100 of them by path.
  tesseraTarget('RS256', { tenants: { count: tenantCount, spread: tenantSpread }, suffix: '-1000tenants' }),
];
/** Issue 24: the admin client list at a million clients, on each store. */
const listingStores: ListingStore[] = ['sqlite', 'postgres'];
const listingName = (store: ListingStore) => `admin-listing-${store}`;
const longTargetName = 'rss-60s';

const allNames = [...targets.map((t) => t.name), ...listingStores.map(listingName), ...microBenches.map((m) => m.name), longTargetName];
/** An exact name, or a group prefix such as `tessera` or `ceiling` that is not itself a name. */
const matches = (o: string, name: string) => name === o || (!allNames.includes(o) && name.startsWith(`${o}-`));
const selected = (name: string) => (only === null ? name !== longTargetName || values.long : only.some((o) => matches(o, name)));
if (only) {
  const unknown = only.filter((o) => !allNames.some((n) => matches(o, n)));
  if (unknown.length) {
    console.error(`--only: unknown ${unknown.join(', ')}; names: ${allNames.join(' ')}`);
    process.exit(2);
  }
}

function machineInfo(): MachineInfo {
  const cpuList = cpus();
  return {
    cpuModel: cpuList[0]?.model.trim() ?? 'unknown',
    cores: cpuList.length,
    node: process.version,
    platform: platform(),
    kernel: release(),
    totalMemoryMiB: Math.round(totalmem() / 1024 / 1024),
    loadAverageAtStart: loadavg(),
    date: new Date().toISOString(),
  };
}

function build(): void {
  log('building packages/server (tsc -b)');
  const tsc = join(root, 'node_modules', 'typescript', 'bin', 'tsc');
  const result = spawnSync(process.execPath, [tsc, '-b', 'packages/server'], { cwd: root, stdio: 'inherit', timeout: 300_000 });
  if (result.status !== 0) throw new Error(`tsc -b packages/server failed (${result.status ?? result.signal})`);
}

const context: StartContext = {
  root,
  logLevel: 'warn',
  nodeFlags: values.profile ? ['--cpu-prof', '--cpu-prof-dir', profileDir] : [],
  log,
};

/** One round of one target: start it, warm it up, measure, stop it. */
async function runRound(spec: TargetSpec, round: number): Promise<RoundResult> {
  const tag = rounds > 1 ? `${spec.name} (round ${round}/${rounds})` : spec.name;
  log(`${tag}: starting (${spec.description})`);
  let running;
  try {
    running = await spec.start(context);
  } catch (error) {
    log(`${tag}: failed to start: ${String(error)}`);
    return { status: 'failed', error: String(error) };
  }
  try {
    const many = running.authorizations.length > 1;
    log(
      `${tag}: pid ${running.pid}, ${many ? `one request per client (${running.authorizations.length}) to prime, then ` : ''}` +
        `warm-up ${warmupSeconds} s, then ${durationSeconds} s measured`,
    );
    const hookBefore = await running.hookStats?.();
    const load = await drive({
      tokenUrl: running.tokenUrl,
      pid: running.pid,
      authorizations: running.authorizations,
      paths: running.paths,
      connections,
      warmupSeconds,
      durationSeconds,
      prime: many,
    });
    const hookAfter = await running.hookStats?.();
    const startup = running.startupMs !== undefined ? { startupMs: running.startupMs } : {};
    log(
      `${tag}: ${Math.round(load.requestsPerSecond)} req/s, p50 ${load.latencyMs.p50} ms, p99 ${load.latencyMs.p99} ms, ` +
        `non-2xx ${load.non2xx}, errors ${load.errors + load.timeouts}, server CPU ${load.cpuSeconds.toFixed(2)} s, ` +
        `${Math.round(load.tokensPerCpuSecond)} tokens/CPU-s, event loop ${Math.round(load.eventLoopMicrosPerToken)} µs/token, other processes ${load.otherCores.toFixed(2)} cores`,
    );
    if (hookBefore && hookAfter) {
      // Warm-up included on both sides: calls and the hook process's CPU over the same span.
      const calls = hookAfter.calls - hookBefore.calls;
      const cpu = hookAfter.cpuSeconds - hookBefore.cpuSeconds;
      const hook = { calls, cpuSeconds: cpu, cpuMicrosPerCall: calls > 0 ? (cpu * 1e6) / calls : 0 };
      log(`${tag}: token hook ${calls} calls, ${cpu.toFixed(2)} CPU-s, ${Math.round(hook.cpuMicrosPerCall)} µs CPU per call`);
      return { status: 'ok', load, hook, ...startup };
    }
    return { status: 'ok', load, ...startup };
  } catch (error) {
    log(`${tag}: failed: ${String(error)}`);
    return { status: 'failed', error: `${String(error)}\n${running.spawned.output()}` };
  } finally {
    await running.stop();
  }
}

/** The reported figures are the round with the highest req/s; every round is kept in the JSON. */
function summarize(spec: TargetSpec, roundResults: RoundResult[]): TargetResult {
  const base = {
    name: spec.name,
    group: spec.group,
    alg: spec.alg,
    description: spec.description,
    threadPool: spec.threadPool,
    registeredClients: spec.registeredClients,
    spreadClients: spec.spreadClients,
    rounds: roundResults,
  };
  const loads = roundResults.flatMap((r) => (r.load ? [r.load] : []));
  if (loads.length === 0) return { ...base, status: 'failed', error: roundResults.map((r) => r.error).join('\n') };
  const best = loads.reduce((a, b) => (b.requestsPerSecond > a.requestsPerSecond ? b : a));
  const hook = roundResults.find((r) => r.load === best)?.hook;
  return { ...base, status: 'ok', load: best, ...(hook ? { hook } : {}) };
}

/** Full load for `longSeconds`; RSS growth from the first 10 s to the end. */
async function runRssLong(): Promise<RssLongResult> {
  const spec = tesseraTarget('RS256');
  log(`${longTargetName}: ${spec.name} at full load for ${longSeconds} s, sampling RSS every second`);
  let running;
  try {
    running = await spec.start(context);
  } catch (error) {
    return { target: spec.name, status: 'failed', error: String(error) };
  }
  try {
    const load = await drive({
      tokenUrl: running.tokenUrl,
      pid: running.pid,
      authorizations: running.authorizations,
      connections,
      warmupSeconds: 0,
      durationSeconds: longSeconds,
    });
    const samples = load.rss.samples;
    const first10 = Math.max(...samples.filter((s) => s.t <= 10.5).map((s) => s.bytes));
    const growthBytes = load.rss.endBytes - first10;
    const result: RssLongResult = {
      target: spec.name,
      status: 'ok',
      seconds: load.seconds,
      requestsPerSecond: load.requestsPerSecond,
      non2xx: load.non2xx,
      p99Ms: load.latencyMs.p99,
      rssFirst10sBytes: first10,
      rssEndBytes: load.rss.endBytes,
      rssPeakBytes: load.rss.peakBytes,
      growthBytes,
      growthPercent: (growthBytes / first10) * 100,
      samples,
    };
    log(
      `${longTargetName}: RSS first 10 s ${(first10 / 1048576).toFixed(1)} MiB, end ${(load.rss.endBytes / 1048576).toFixed(1)} MiB ` +
        `(growth ${(growthBytes / 1048576).toFixed(1)} MiB, ${result.growthPercent!.toFixed(1)} %)`,
    );
    return result;
  } catch (error) {
    return { target: spec.name, status: 'failed', error: String(error) };
  } finally {
    await running.stop();
  }
}

async function main(): Promise<void> {
  const started = Date.now();
  const machine = machineInfo();
  log(`${machine.cpuModel}, ${machine.cores} cores, Node ${machine.node}, load average ${machine.loadAverageAtStart.map((n) => n.toFixed(2)).join(' ')}`);
  if (!values['no-build']) build();
  mkdirSync(resultsDir, { recursive: true });
  if (values.profile) mkdirSync(profileDir, { recursive: true });

  const chosen = targets.filter((t) => selected(t.name));
  // Issue 24: OpenSSL's one-core RSA-2048 sign rate, before and after the HTTP runs (the ratio
  // uses the higher), whenever an RS256 target runs.
  const measureOpenssl = chosen.some((t) => t.alg === 'RS256');
  const opensslRuns: Array<ReturnType<typeof opensslRsa2048SignRate>> = [];
  const opensslOnce = () => {
    log('openssl speed -seconds 3 rsa2048 (one core)');
    const run = opensslRsa2048SignRate();
    log(run.rate !== undefined ? `openssl: ${run.rate} RSA-2048 sign/s` : `openssl: ${run.error}`);
    opensslRuns.push(run);
  };
  if (measureOpenssl) opensslOnce();
  const byTarget = new Map<string, RoundResult[]>(chosen.map((t) => [t.name, []]));
  for (let round = 1; round <= rounds; round += 1) {
    // Alternate the order so slow drift in the machine's load does not favour one target.
    for (const spec of round % 2 === 1 ? chosen : [...chosen].reverse()) byTarget.get(spec.name)!.push(await runRound(spec, round));
  }
  const targetResults = chosen.map((spec) => summarize(spec, byTarget.get(spec.name)!));
  if (measureOpenssl) opensslOnce();
  const openssl: OpensslSpeed | undefined = measureOpenssl ? collectOpensslSpeed(opensslRuns) : undefined;

  const rssLong = selected(longTargetName) ? await runRssLong() : undefined;

  const adminListing: AdminListingResult[] = [];
  for (const store of listingStores.filter((s) => selected(listingName(s)))) {
    log(`${listingName(store)}: seeding ${million.toLocaleString('en-US')} clients, then paging and searching the admin list`);
    adminListing.push(await runAdminListing(context, store, million));
  }

  // After the HTTP runs, so nothing else competes for the CPU.
  const micro: MicroResult[] = [];
  for (const bench of microBenches.filter((m) => selected(m.name))) {
    log(`${bench.name}: running ${bench.file}`);
    const result = await runMicroBench(root, bench, positive('micro-timeout', values['micro-timeout']) * 1000);
    log(`${bench.name}: ${result.status}${result.reason ? ` (${result.reason})` : ''}`);
    micro.push(result);
  }

  const complete = only === null && durationSeconds >= 10 && warmupSeconds >= 2;
  const results: Results = {
    kind: complete ? 'full' : 'partial',
    machine,
    settings: { connections, warmupSeconds, durationSeconds, rounds, pipelining: 1, only, long: rssLong !== undefined },
    targets: targetResults,
    ratios: computeRatios(targetResults, micro, connections, adminListing, openssl),
    micro,
    ...(adminListing.length > 0 ? { adminListing } : {}),
    ...(openssl ? { openssl } : {}),
    ...(rssLong ? { rssLong } : {}),
    totalSeconds: (Date.now() - started) / 1000,
  };

  // A quick or partial run must not overwrite the figures the README shows.
  const stem = complete ? 'latest' : 'partial';
  const chartFile = complete ? 'chart.svg' : 'partial-chart.svg';
  writeFileSync(join(resultsDir, `${stem}.json`), `${JSON.stringify(results, null, 2)}\n`);
  writeFileSync(join(resultsDir, `${stem}.md`), renderMarkdown(results).replace('](chart.svg)', `](${chartFile})`));
  const chartRows = targetResults
    .filter((t) => t.status === 'ok' && t.load)
    .map((t) => ({ name: t.name, group: t.group, requestsPerSecond: t.load!.requestsPerSecond, p50: t.load!.latencyMs.p50, p99: t.load!.latencyMs.p99 }));
  const subtitle = `${connections} connections, ${durationSeconds} s after ${warmupSeconds} s warm-up · ${machine.cpuModel}, ${machine.cores} cores · Node ${machine.node} · ${machine.date.slice(0, 10)}`;
  writeFileSync(join(resultsDir, chartFile), renderChart(chartRows, subtitle));

  console.log(`\n${resultsTable(targetResults)}\n\n${ratiosTable(results.ratios)}\n`);
  for (const m of micro) {
    console.log(`${m.name}: ${m.status}${m.reason ? ` (${m.reason})` : ''}`);
    if (m.status === 'ok' && m.stdout) console.log(m.stdout.split('\n').slice(-15).join('\n'));
  }
  log(`wrote bench/results/${stem}.json, ${stem}.md, ${chartFile} in ${results.totalSeconds.toFixed(0)} s`);
}

main().then(
  () => {
    killAllSync();
    process.exit(0);
  },
  (error: unknown) => {
    console.error(error);
    killAllSync();
    process.exit(1);
  },
);
