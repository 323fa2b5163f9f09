import type { AdminListingResult } from './admin-listing.js';
import type { LoadResult, RssSample } from './lib/load.js';
import type { MicroResult } from './micro.js';
import type { OpensslSpeed } from './openssl-speed.js';
import type { Alg } from './targets/common.js';

export interface MachineInfo {
  cpuModel: string;
  cores: number;
  node: string;
  platform: string;
  kernel: string;
  totalMemoryMiB: number;
  loadAverageAtStart: number[];
  date: string;
}

export interface Settings {
  connections: number;
  warmupSeconds: number;
  durationSeconds: number;
  rounds: number;
  pipelining: number;
  only: string[] | null;
  long: boolean;
}

export interface RoundResult {
  status: 'ok' | 'failed';
  error?: string;
  load?: LoadResult;
  /** Spawn to first answer (ms), for the targets that measure it. */
  startupMs?: number;
  /** Token hook scenarios: the hook process's calls and CPU over warm-up and measured run. */
  hook?: HookCost;
}

export interface HookCost {
  calls: number;
  cpuSeconds: number;
  cpuMicrosPerCall: number;
}

export interface TargetResult {
  name: string;
  group: string;
  alg: Alg;
  description: string;
  /** libuv pool threads of the server process (absent in results from before it was recorded). */
  threadPool?: number;
  registeredClients: number;
  spreadClients: number;
  status: 'ok' | 'failed';
  error?: string;
  /** The round with the highest req/s. */
  load?: LoadResult;
  /** That round's token hook cost, in the hook scenarios. */
  hook?: HookCost;
  rounds: RoundResult[];
}

export interface RssLongResult {
  target: string;
  status: 'ok' | 'failed';
  error?: string;
  seconds?: number;
  requestsPerSecond?: number;
  non2xx?: number;
  p99Ms?: number;
  /** Highest RSS seen in the first 10 s of the full-load run. */
  rssFirst10sBytes?: number;
  rssEndBytes?: number;
  rssPeakBytes?: number;
  growthBytes?: number;
  growthPercent?: number;
  samples?: RssSample[];
}

export interface Ratio {
  name: string;
  value: number | null;
  /** Human-readable target, e.g. "≥ 1.7"; "reported" when there is none. */
  target: string;
  pass: boolean | null;
  note?: string;
}

export interface Results {
  kind: 'full' | 'partial';
  machine: MachineInfo;
  settings: Settings;
  targets: TargetResult[];
  ratios: Ratio[];
  micro: MicroResult[];
  rssLong?: RssLongResult;
  /** Issue 24: the admin client list at a million clients, per store. */
  adminListing?: AdminListingResult[];
  /** Issue 24: `openssl speed rsa2048` in the same run, the RS256 CPU-efficiency reference. */
  openssl?: OpensslSpeed;
  totalSeconds: number;
}

const p99LimitMs = 20;

function ok(targets: TargetResult[], name: string): LoadResult | undefined {
  const target = targets.find((t) => t.name === name);
  return target?.status === 'ok' ? target.load : undefined;
}

function ratio(name: string, numerator: number | undefined, denominator: number | undefined, min: number | null, note?: string): Ratio {
  const value = numerator !== undefined && denominator !== undefined && denominator > 0 ? numerator / denominator : null;
  return {
    name,
    value,
    target: min === null ? 'reported' : `≥ ${min}`,
    pass: min === null || value === null ? null : value >= min,
    ...(note ? { note } : {}),
  };
}

/**
 * Closed-loop load: each connection waits for its answer, so mean latency is exactly
 * connections / throughput (Little's law). A p99 target is only reachable above that rate.
 */
function littleNote(load: LoadResult, connections: number): string {
  const floor = (connections / load.requestsPerSecond) * 1000;
  const needed = (connections / p99LimitMs) * 1000;
  return `mean latency = ${connections} connections / ${Math.round(load.requestsPerSecond)} req/s = ${floor.toFixed(1)} ms; p99 < ${p99LimitMs} ms needs > ${Math.round(needed)} req/s`;
}

/** Issue 24's bounds for the million-client rows. */
const millionP99LimitMs = 25;
const millionRssLimitMiB = 512;
const listingP99LimitMs = 100;

function below(name: string, value: number | null | undefined, limit: number, note?: string): Ratio {
  const known = value ?? null;
  return { name, value: known, target: `< ${limit}`, pass: known === null ? null : known < limit, ...(note ? { note } : {}) };
}

/** The million-client rows: issuance against one client, p99, peak RSS, start-up; admin listing p99. */
function millionRatios(targets: TargetResult[], listing: AdminListingResult[]): Ratio[] {
  const ratios: Ratio[] = [];
  const target = targets.find((t) => t.name === 'tessera-rs256-1m');
  if (target) {
    const many = ok(targets, 'tessera-rs256-1m');
    const who = `${int(target.registeredClients)} clients (${int(target.spreadClients)} in use)`;
    ratios.push(ratio(`req/s: Tessera RS256 ${who} / one client`, many?.requestsPerSecond, ok(targets, 'tessera-rs256')?.requestsPerSecond, 0.9, 'same run'));
    ratios.push(below(`p99 latency tessera-rs256-1m (ms), issue 24's bound`, many?.latencyMs.p99, millionP99LimitMs));
    ratios.push(below('peak RSS tessera-rs256-1m (MiB)', many ? many.rss.peakBytes / 1048576 : null, millionRssLimitMiB));
    const startups = target.rounds.flatMap((r) => (r.startupMs !== undefined ? [r.startupMs] : []));
    ratios.push({
      name: 'start-up tessera-rs256-1m, spawn to first answer (ms, slowest round)',
      value: startups.length ? Math.round(Math.max(...startups)) : null,
      target: 'reported',
      pass: null,
      note: 'no full registry load at start',
    });
  }
  for (const result of listing) {
    ratios.push(
      below(
        `p99 GET /admin/v1/clients ${result.store}, ${int(result.registeredClients)} clients (ms)`,
        result.status === 'ok' ? result.all?.p99Ms : null,
        listingP99LimitMs,
        result.status === 'ok' ? `${result.all?.requests} requests: page walk, deep pages, id and name prefix search` : `failed: ${(result.error ?? '').split('\n')[0]!.slice(0, 100)}`,
      ),
    );
  }
  return ratios;
}

/** RS256 tokens per server CPU-second against OpenSSL's one-core sign rate (issue 24: ≥ 0.85). */
function opensslRatios(targets: TargetResult[], openssl: OpensslSpeed | undefined): Ratio[] {
  if (!openssl) return [];
  const rate = openssl.best;
  const note = rate !== undefined ? `OpenSSL ${int(rate)} sign/s (${openssl.signPerSecond.map(int).join(', ')}), same run` : `openssl: ${openssl.error ?? 'failed'}`;
  const ratios: Ratio[] = [];
  for (const [name, min] of [
    ['tessera-rs256', 0.85],
    ['tessera-rs256-2workers', null],
    ['tessera-rs256-loop', null],
    ['tessera-rs256-2workers-loop', null],
    ['tessera-rs256-default', null],
    ['ceiling-rs256', null],
  ] as const) {
    if (!targets.some((t) => t.name === name)) continue;
    ratios.push(ratio(`RS256 tokens per server CPU-s / openssl speed rsa2048 sign/s (one core): ${name}`, ok(targets, name)?.tokensPerCpuSecond, rate, min, note));
  }
  return ratios;
}

export function computeRatios(
  targets: TargetResult[],
  micro: MicroResult[],
  connections: number,
  listing: AdminListingResult[] = [],
  openssl?: OpensslSpeed,
): Ratio[] {
  const ratios: Ratio[] = [...opensslRatios(targets, openssl), ...millionRatios(targets, listing)];
  const has = (name: string) => targets.some((t) => t.name === name);
  const rs = ok(targets, 'tessera-rs256');
  const oidc = ok(targets, 'oidc-provider');
  if (has('tessera-rs256') || has('oidc-provider')) {
    ratios.push(ratio('req/s: Tessera RS256 / oidc-provider', rs?.requestsPerSecond, oidc?.requestsPerSecond, 1.7));
  }
  for (const alg of ['rs256', 'es256', 'eddsa']) {
    if (!has(`tessera-${alg}`) && !has(`ceiling-${alg}`)) continue;
    const t = ok(targets, `tessera-${alg}`);
    const c = ok(targets, `ceiling-${alg}`);
    ratios.push(ratio(`req/s: Tessera ${alg.toUpperCase()} / ceiling ${alg.toUpperCase()}`, t?.requestsPerSecond, c?.requestsPerSecond, 0.9));
  }
  if (has('tessera-rs256-100k')) {
    ratios.push(
      ratio(
        'req/s: Tessera RS256 100k clients (10k in use) / one client',
        ok(targets, 'tessera-rs256-100k')?.requestsPerSecond,
        rs?.requestsPerSecond,
        0.9,
        'within 10 %',
      ),
    );
  }
  if (has('tessera-rs256-1000tenants')) {
    // Issue 21: many issuers in one deployment at full speed, start-up and memory reported.
    const target = targets.find((t) => t.name === 'tessera-rs256-1000tenants')!;
    const tenants = ok(targets, 'tessera-rs256-1000tenants');
    ratios.push(ratio('req/s: Tessera RS256 1,000 tenants (100 in use, /t/NAME/oauth/token) / one tenant', tenants?.requestsPerSecond, rs?.requestsPerSecond, 0.9, 'same run'));
    const startups = target.rounds.flatMap((r) => (r.startupMs !== undefined ? [r.startupMs] : []));
    ratios.push({ name: 'start-up tessera-rs256-1000tenants, spawn to first answer (ms, slowest round)', value: startups.length ? Math.round(Math.max(...startups)) : null, target: 'reported', pass: null });
    const single = target.rounds.flatMap((r) => (r.load ? [r.load.rss.startBytes] : []));
    ratios.push({ name: 'RSS tessera-rs256-1000tenants after priming the 100 in use (MiB)', value: single.length ? Math.round(Math.max(...single) / 1048576) : null, target: 'reported', pass: null });
    ratios.push({ name: 'peak RSS tessera-rs256-1000tenants under load (MiB)', value: tenants ? Math.round(tenants.rss.peakBytes / 1048576) : null, target: 'reported', pass: null });
    if (rs) ratios.push({ name: 'peak RSS tessera-rs256 under load (MiB), for comparison', value: Math.round(rs.rss.peakBytes / 1048576), target: 'reported', pass: null });
    const singleStartups = targets.find((t) => t.name === 'tessera-rs256')?.rounds.flatMap((r) => (r.startupMs !== undefined ? [r.startupMs] : [])) ?? [];
    if (singleStartups.length) ratios.push({ name: 'start-up tessera-rs256 (ms, slowest round), for comparison', value: Math.round(Math.max(...singleStartups)), target: 'reported', pass: null });
    // On a shared machine the two runs may get different shares of the CPU: per CPU-second
    // of the server, the cost of a token is the steadier comparison.
    ratios.push(ratio('tokens per server CPU-s: Tessera RS256 1,000 tenants / one tenant', tenants?.tokensPerCpuSecond, rs?.tokensPerCpuSecond, 0.9, 'same run'));
  }
  if (has('tessera-rs256-2workers')) {
    ratios.push(
      ratio(
        'req/s: Tessera RS256 --workers 2 / --workers 1 (speed-up on this 2-core machine, load generator included)',
        ok(targets, 'tessera-rs256-2workers')?.requestsPerSecond,
        rs?.requestsPerSecond,
        null,
      ),
    );
  }
  // Issue 24: where signing happens (--sign-on), each against the other in the same run.
  for (const [name, other, what] of [
    ['tessera-rs256-loop', 'tessera-rs256', '--workers 1: signing on the event loop / on the libuv pool'],
    ['tessera-rs256-2workers-loop', 'tessera-rs256-2workers', '--workers 2: signing on the event loop / on the libuv pool'],
  ] as const) {
    if (!has(name) || !has(other)) continue;
    const a = ok(targets, name);
    const b = ok(targets, other);
    ratios.push(ratio(`tokens per CPU-s: Tessera RS256 ${what}`, a?.tokensPerCpuSecond, b?.tokensPerCpuSecond, null));
    ratios.push(ratio(`req/s: Tessera RS256 ${what}`, a?.requestsPerSecond, b?.requestsPerSecond, null));
    ratios.push(ratio(`p99: Tessera RS256 ${what}`, a?.latencyMs.p99, b?.latencyMs.p99, null, 'lower is better'));
  }
  if (has('tessera-rs256') && has('ceiling-rs256')) {
    const c = ok(targets, 'ceiling-rs256');
    ratios.push(ratio('p99: Tessera RS256 / ceiling RS256', rs?.latencyMs.p99, c?.latencyMs.p99, null, 'issue 24 asks ≤ 1.25; lower is better'));
  }
  // Issue 24: reading a streaming replica against reading the primary, and against SQLite.
  if (has('tessera-rs256-replica')) {
    const replica = ok(targets, 'tessera-rs256-replica');
    for (const [other, what] of [
      ['tessera-rs256-postgres', 'PostgreSQL primary'],
      ['tessera-rs256', 'SQLite'],
    ] as const) {
      if (!has(other)) continue;
      const base = ok(targets, other);
      ratios.push(ratio(`req/s: Tessera RS256 reading a streaming replica / ${what}`, replica?.requestsPerSecond, base?.requestsPerSecond, null));
      ratios.push(ratio(`tokens per CPU-s: Tessera RS256 reading a streaming replica / ${what}`, replica?.tokensPerCpuSecond, base?.tokensPerCpuSecond, null));
    }
  }
  // Issue 24: `npm start` as shipped against the best Tessera RS256 configuration of the run.
  if (has('tessera-rs256-default')) {
    const shipped = ok(targets, 'tessera-rs256-default');
    const candidates = ['tessera-rs256', 'tessera-rs256-2workers', 'tessera-rs256-loop', 'tessera-rs256-2workers-loop'].flatMap((name) => {
      const result = ok(targets, name);
      return result ? [{ name, result }] : [];
    });
    for (const [what, key] of [
      ['req/s', 'requestsPerSecond'],
      ['tokens per CPU-s', 'tokensPerCpuSecond'],
    ] as const) {
      const best = candidates.sort((x, y) => y.result[key] - x.result[key])[0];
      if (best === undefined) continue;
      ratios.push(ratio(`${what}: Tessera RS256 npm start defaults / best configuration (${best.name})`, shipped?.[key], best.result[key], 0.95, 'at most 5 % below'));
    }
  }
  if (has('tessera-rs256-pkcs11')) {
    const hsm = ok(targets, 'tessera-rs256-pkcs11');
    ratios.push(ratio('req/s: Tessera RS256 keys in SoftHSM2 (PKCS#11) / file keys', hsm?.requestsPerSecond, rs?.requestsPerSecond, 0.7));
    ratios.push(
      ratio('event-loop µs per token: Tessera RS256 PKCS#11 / file keys', hsm?.eventLoopMicrosPerToken, rs?.eventLoopMicrosPerToken, null, 'lower is better'),
    );
  }
  if (has('tessera-rs256-traced')) {
    ratios.push(
      ratio(
        'req/s: Tessera RS256 tracing on (every request exported to a local OTLP receiver) / tracing off',
        ok(targets, 'tessera-rs256-traced')?.requestsPerSecond,
        rs?.requestsPerSecond,
        null,
      ),
    );
  }
  // Issue 22: token reuse and quotas.
  if (has('tessera-rs256-reuse')) {
    const reuse = ok(targets, 'tessera-rs256-reuse')?.requestsPerSecond;
    ratios.push(ratio('req/s: Tessera RS256 reusing tokens / signing each', reuse, rs?.requestsPerSecond, 3));
    if (has('ceiling-nosign')) ratios.push(ratio('req/s: Tessera RS256 reusing tokens / no-signing HTTP floor', reuse, ok(targets, 'ceiling-nosign')?.requestsPerSecond, 0.5));
  }
  if (has('tessera-rs256-quota')) {
    ratios.push(ratio('req/s: Tessera RS256 with a quota far above the load / without', ok(targets, 'tessera-rs256-quota')?.requestsPerSecond, rs?.requestsPerSecond, 0.95));
  }
  // Issue 19: claims and the token hook against the plain figure of the same run.
  if (has('tessera-rs256-claims10')) {
    ratios.push(ratio('req/s: Tessera RS256 client with 10 claims / plain', ok(targets, 'tessera-rs256-claims10')?.requestsPerSecond, rs?.requestsPerSecond, 0.95));
  }
  for (const [suffix, min, what] of [
    ['hook-cached', 0.9, 'token hook on loopback answering cache_seconds'],
    ['hook-uncached', null, 'token hook on loopback, no caching'],
  ] as const) {
    const target = targets.find((t) => t.name === `tessera-rs256-${suffix}`);
    if (!target) continue;
    const cost = target.hook;
    const note = cost
      ? `hook: ${int(cost.calls)} calls, ${fixed(cost.cpuSeconds)} CPU-s, ${int(cost.cpuMicrosPerCall)} µs CPU per call`
      : undefined;
    ratios.push(ratio(`req/s: Tessera RS256 with a ${what} / plain`, ok(targets, target.name)?.requestsPerSecond, rs?.requestsPerSecond, min, note));
  }
  for (const target of targets.filter((t) => t.group === 'tessera')) {
    const load = target.status === 'ok' ? target.load : undefined;
    // The p99 target is the token endpoint's, in one process; two worker processes on two
    // cores that also run the load generator measure the speed-up (issue 9), not latency.
    const latencyTarget = !target.name.endsWith('-2workers');
    ratios.push({
      name: `p99 latency ${target.name} (ms)`,
      value: load ? load.latencyMs.p99 : null,
      target: latencyTarget ? `< ${p99LimitMs} ms` : 'reported',
      pass: latencyTarget && load ? load.latencyMs.p99 < p99LimitMs : null,
      ...(load ? { note: littleNote(load, connections) } : {}),
    });
    // Every round counts here, not only the reported one.
    const loads = target.rounds.flatMap((r) => (r.load ? [r.load] : []));
    const failures = loads.length ? loads.reduce((sum, l) => sum + l.non2xx + l.errors + l.timeouts, 0) : null;
    ratios.push({
      name: `non-2xx + errors ${target.name}, all rounds`,
      value: failures,
      target: '= 0',
      pass: failures === null ? null : failures === 0,
    });
  }
  // CPU efficiency is steadier than req/s on a shared, noisy machine: informative only.
  if (has('tessera-rs256') || has('oidc-provider')) {
    ratios.push(ratio('tokens per CPU-s: Tessera RS256 / oidc-provider', rs?.tokensPerCpuSecond, oidc?.tokensPerCpuSecond, null));
  }
  for (const alg of ['rs256', 'es256', 'eddsa']) {
    if (!has(`tessera-${alg}`) && !has(`ceiling-${alg}`)) continue;
    ratios.push(
      ratio(
        `tokens per CPU-s: Tessera ${alg.toUpperCase()} / ceiling ${alg.toUpperCase()}`,
        ok(targets, `tessera-${alg}`)?.tokensPerCpuSecond,
        ok(targets, `ceiling-${alg}`)?.tokensPerCpuSecond,
        null,
      ),
    );
  }
  for (const [suffix, what] of [
    ['claims10', 'client with 10 claims'],
    ['hook-cached', 'token hook, cache_seconds'],
    ['hook-uncached', 'token hook, no caching (Tessera only, the hook process apart)'],
  ] as const) {
    if (!has(`tessera-rs256-${suffix}`)) continue;
    ratios.push(ratio(`tokens per CPU-s: Tessera RS256 ${what} / plain`, ok(targets, `tessera-rs256-${suffix}`)?.tokensPerCpuSecond, rs?.tokensPerCpuSecond, null));
  }
  if (has('tessera-rs256-100k')) {
    const many = ok(targets, 'tessera-rs256-100k');
    ratios.push(ratio('tokens per CPU-s: Tessera RS256 100k clients / one client', many?.tokensPerCpuSecond, rs?.tokensPerCpuSecond, null));
    ratios.push(
      ratio('event-loop µs per token: Tessera RS256 100k clients / one client', many?.eventLoopMicrosPerToken, rs?.eventLoopMicrosPerToken, null, 'lower is better'),
    );
  }
  for (const m of micro) {
    if (m.status !== 'ok' || !m.ratios) {
      ratios.push({
        name: `${m.name} micro-benchmark`,
        value: null,
        target: 'reported',
        pass: null,
        note: m.status === 'ok' ? 'ran; printed no ratio fields (see Micro-benchmarks)' : 'not available',
      });
      continue;
    }
    for (const r of m.ratios) {
      const max = r.max ?? null;
      ratios.push({
        name: `${m.name}: ${r.name}`,
        value: r.value,
        target: r.min !== null ? `≥ ${r.min} (its own)` : max !== null ? `≤ ${max} (its own)` : 'reported',
        pass: r.min !== null ? r.value >= r.min : max !== null ? r.value <= max : null,
      });
    }
  }
  return ratios;
}

const int = (n: number) => Math.round(n).toLocaleString('en-US');
const fixed = (n: number, digits = 2) => n.toFixed(digits);
const mib = (bytes: number) => (bytes / 1024 / 1024).toFixed(1);
const verdict = (pass: boolean | null) => (pass === null ? '' : pass ? 'pass' : '**MISS**');

const ms = (n: number) => (Number.isInteger(n) ? String(n) : fixed(n));

export function resultsTable(targets: TargetResult[]): string {
  const lines = [
    '| Target | Clients (registered / in use) | pool threads | req/s | req/s each round | p50 ms | p99 ms | non-2xx | errors | server CPU-s | server cores | tokens / CPU-s | event-loop µs / token | peak RSS MiB | load-gen cores | other procs cores |',
    '|---|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|',
  ];
  for (const t of targets) {
    const clients = `${int(t.registeredClients)} / ${int(t.spreadClients)}`;
    if (t.status !== 'ok' || !t.load) {
      lines.push(`| ${t.name} | ${clients} | ${t.threadPool ?? ''} | failed: ${(t.error ?? '').split('\n')[0]!.replace(/\|/g, '\\|').slice(0, 120)} |${' |'.repeat(12)}`);
      continue;
    }
    const l = t.load;
    const each = t.rounds.map((r) => (r.load ? int(r.load.requestsPerSecond) : 'failed')).join(' / ');
    lines.push(
      `| ${t.name} | ${clients} | ${t.threadPool ?? ''} | ${int(l.requestsPerSecond)} | ${each} | ${ms(l.latencyMs.p50)} | ${ms(l.latencyMs.p99)} | ${int(l.non2xx)} | ${int(l.errors + l.timeouts)} | ${fixed(l.cpuSeconds)} | ${fixed(l.cpuCores)} | ${int(l.tokensPerCpuSecond)} | ${int(l.eventLoopMicrosPerToken)} | ${mib(l.rss.peakBytes)} | ${fixed(l.loadGeneratorCores)} | ${fixed(l.otherCores)} |`,
    );
  }
  return lines.join('\n');
}

export function ratiosTable(ratios: Ratio[]): string {
  const lines = ['| Check | Value | Target | Result |', '|---|--:|---|---|'];
  for (const r of ratios) {
    const value = r.value === null ? 'n/a' : Number.isInteger(r.value) ? String(r.value) : fixed(r.value);
    lines.push(`| ${r.name}${r.note ? ` (${r.note})` : ''} | ${value} | ${r.target} | ${r.value === null && r.target !== 'reported' ? 'not measured' : verdict(r.pass)} |`);
  }
  return lines.join('\n');
}

function microSection(micro: MicroResult[]): string {
  if (micro.length === 0) return '';
  const parts = ['## Micro-benchmarks (verifier, client)', ''];
  for (const m of micro) {
    parts.push(`### ${m.name}: \`${m.file}\``, '', m.description, '');
    if (m.status !== 'ok') {
      parts.push(`Not available: ${m.reason ?? 'unknown reason'}.`, '');
      if (m.stdout) parts.push('```', m.stdout.slice(-3000), '```', '');
      continue;
    }
    parts.push(`Ran in ${fixed(m.seconds ?? 0, 1)} s. Output as printed:`, '', '```', (m.stdout ?? '').slice(-6000), '```', '');
  }
  return parts.join('\n');
}

function listingSection(listing: AdminListingResult[] | undefined): string {
  if (!listing || listing.length === 0) return '';
  const parts = [
    '## Admin client list at a million clients (`GET /admin/v1/clients?limit=&cursor=&q=`)',
    '',
    'One request at a time after 20 uncounted: 200 consecutive pages of 100 from the start, 200 pages of 100 starting deep in the list, 200 searches by client_id prefix (10 matches each) and 200 by name prefix (100 matches each).',
    '',
    '| Store | clients | seeding s | start-up ms | kind | requests | p50 ms | p99 ms | max ms |',
    '|---|--:|--:|--:|---|--:|--:|--:|--:|',
  ];
  for (const r of listing) {
    if (r.status !== 'ok') {
      parts.push(`| ${r.store} | ${int(r.registeredClients)} | failed: ${(r.error ?? '').split('\n')[0]!.replace(/\|/g, '\\|').slice(0, 120)} ||||||`);
      continue;
    }
    for (const [kind, k] of Object.entries({ all: r.all!, ...r.byKind })) {
      parts.push(`| ${r.store} | ${int(r.registeredClients)} | ${fixed(r.seedSeconds ?? 0, 1)} | ${int(r.startupMs ?? 0)} | ${kind} | ${k.requests} | ${ms(k.p50Ms)} | ${ms(k.p99Ms)} | ${ms(k.maxMs)} |`);
    }
  }
  parts.push('');
  return parts.join('\n');
}

function rssSection(rss: RssLongResult | undefined): string {
  if (!rss) return '';
  const parts = ['## RSS under sustained load (`--long`)', ''];
  if (rss.status !== 'ok') return [...parts, `${rss.target}: failed: ${rss.error ?? ''}`, ''].join('\n');
  parts.push(
    `${rss.target}, ${fixed(rss.seconds ?? 0, 0)} s at full load (${int(rss.requestsPerSecond ?? 0)} req/s, p99 ${fixed(rss.p99Ms ?? 0)} ms, non-2xx ${rss.non2xx ?? 0}):`,
    '',
    '| RSS, peak of first 10 s MiB | RSS at end MiB | peak MiB | growth MiB | growth % |',
    '|--:|--:|--:|--:|--:|',
    `| ${mib(rss.rssFirst10sBytes ?? 0)} | ${mib(rss.rssEndBytes ?? 0)} | ${mib(rss.rssPeakBytes ?? 0)} | ${mib(rss.growthBytes ?? 0)} | ${fixed(rss.growthPercent ?? 0, 1)} |`,
    '',
  );
  return parts.join('\n');
}

export function renderMarkdown(results: Results): string {
  const { machine, settings } = results;
  return [
    `# Tessera token endpoint benchmark${results.kind === 'partial' ? ' (partial run)' : ''}`,
    '',
    `${machine.date} · ${machine.cpuModel} · ${machine.cores} cores · Node ${machine.node} · ${machine.platform} ${machine.kernel} · load average at start ${machine.loadAverageAtStart.map((n) => n.toFixed(2)).join(' ')}`,
    '',
    `Each target runs alone as its own process on 127.0.0.1; autocannon (in the harness process, same machine) sends POST /oauth/token with client_secret_basic and \`grant_type=client_credentials\` over ${settings.connections} connections: ${settings.warmupSeconds} s discarded warm-up, then ${settings.durationSeconds} s measured (the many-client scenario first sends one request per client in use, so it is measured with a warm client cache); ${settings.rounds} round(s) per target in alternating order, each on a fresh server process, and the round with the highest req/s is reported (all rounds are in latest.json). Server CPU-seconds are utime+stime of the server process (all threads) from /proc/PID/stat over the measured run; "event-loop µs / token" is the main thread's share alone (/proc/PID/task/PID/stat): the event loop is the serial part, signing runs on the libuv pool; "load-gen cores" is autocannon's process and "other procs cores" is everything else busy on the machine meanwhile (from /proc/stat), a measure of noise.${settings.only ? ` Only: ${settings.only.join(', ')}.` : ''}`,
    '',
    '![Throughput and latency](chart.svg)',
    '',
    '## Results',
    '',
    resultsTable(results.targets),
    '',
    '## Ratios and targets',
    '',
    ratiosTable(results.ratios),
    '',
    rssSection(results.rssLong),
    listingSection(results.adminListing),
    microSection(results.micro),
    `Total harness time: ${fixed(results.totalSeconds, 0)} s.`,
    '',
  ].join('\n');
}
