import autocannon from 'autocannon';
import { cpuSeconds, machineBusySeconds, mainThreadCpuSeconds, processTree, rssBytes } from './proc.js';

export interface LoadOptions {
  tokenUrl: string;
  pid: number;
  authorizations: string[];
  /** Issue 21: the path of each authorization's requests (its tenant's token endpoint). */
  paths?: string[] | undefined;
  connections: number;
  warmupSeconds: number;
  durationSeconds: number;
  /**
   * With many clients: first send one request per client, so the measured run sees the
   * steady state (every client already in the server's cache), not the cold start.
   */
  prime?: boolean;
  /** RSS sampling interval for the measured run (ms). */
  rssIntervalMs?: number;
}

export interface RssSample {
  /** Seconds since the measured run started. */
  t: number;
  bytes: number;
}

export interface LoadResult {
  requests: number;
  ok: number;
  non2xx: number;
  errors: number;
  timeouts: number;
  seconds: number;
  requestsPerSecond: number;
  latencyMs: { p50: number; p90: number; p99: number; max: number; mean: number };
  cpuSeconds: number;
  /** Server CPU use as a share of one core over the measured run. */
  cpuCores: number;
  tokensPerCpuSecond: number;
  /** CPU of the server's main thread (the event loop) alone, and per successful token. */
  eventLoopCpuSeconds: number;
  eventLoopMicrosPerToken: number;
  /** Server processes (the target and any workers it forked) at the end of the run. */
  serverProcesses: number;
  /** CPU of the load generator (this process) and of everything else on the machine, in cores. */
  loadGeneratorCores: number;
  otherCores: number;
  rss: { startBytes: number; peakBytes: number; endBytes: number; samples: RssSample[] };
  warmup: { requests: number; non2xx: number; errors: number; primingRequests: number; primingNon2xx: number };
}

async function run(options: LoadOptions, seconds: number, amount?: number): Promise<autocannon.AutocannonResult> {
  const headers: Record<string, string> = {
    'content-type': 'application/x-www-form-urlencoded',
    authorization: options.authorizations[0]!,
  };
  const base = {
    url: options.tokenUrl,
    connections: options.connections,
    pipelining: 1,
    ...(amount === undefined ? { duration: seconds } : { amount }),
    timeout: 10,
    method: 'POST',
    headers,
    body: 'grant_type=client_credentials',
  };
  if (options.authorizations.length === 1 && options.paths === undefined) return await autocannon(base);
  // Many clients: rotate the Authorization header through all of them, one per request
  // (with paths, each client's request goes to its own path: its tenant's).
  const all = options.authorizations;
  const paths = options.paths;
  let next = 0;
  return await autocannon({
    ...base,
    requests: [
      {
        method: 'POST',
        setupRequest: (request) => {
          request.headers = { ...request.headers, authorization: all[next]! };
          if (paths) request.path = paths[next]!;
          next = next + 1 === all.length ? 0 : next + 1;
          return request;
        },
      },
    ],
  });
}

/** A discarded warm-up, then the measured run with server CPU and RSS read from /proc. */
export async function drive(options: LoadOptions): Promise<LoadResult> {
  const primed = options.prime && options.authorizations.length > 1 ? await run(options, 0, options.authorizations.length) : undefined;
  const warm = options.warmupSeconds > 0 ? await run(options, options.warmupSeconds) : undefined;

  const samples: RssSample[] = [];
  const started = process.hrtime.bigint();
  const elapsed = () => Number(process.hrtime.bigint() - started) / 1e9;
  const cpuBefore = cpuSeconds(options.pid);
  const loopBefore = mainThreadCpuSeconds(options.pid);
  const machineBefore = machineBusySeconds();
  const selfBefore = process.cpuUsage();
  samples.push({ t: 0, bytes: rssBytes(options.pid) });
  const sampler = setInterval(() => {
    try {
      samples.push({ t: elapsed(), bytes: rssBytes(options.pid) });
    } catch {
      // the process is gone; the run will report errors
    }
  }, options.rssIntervalMs ?? 1000);
  let result: autocannon.AutocannonResult;
  try {
    result = await run(options, options.durationSeconds);
  } finally {
    clearInterval(sampler);
  }
  const seconds = elapsed();
  const cpu = cpuSeconds(options.pid) - cpuBefore;
  const loopCpu = mainThreadCpuSeconds(options.pid) - loopBefore;
  const machine = machineBusySeconds() - machineBefore;
  const selfUsage = process.cpuUsage(selfBefore);
  const self = (selfUsage.user + selfUsage.system) / 1e6;
  samples.push({ t: seconds, bytes: rssBytes(options.pid) });

  const ok = result['2xx'];
  return {
    requests: result.requests.total,
    ok,
    non2xx: result.non2xx,
    errors: result.errors,
    timeouts: result.timeouts,
    seconds: result.duration,
    requestsPerSecond: result.requests.total / result.duration,
    latencyMs: {
      p50: result.latency.p50,
      p90: result.latency.p90,
      p99: result.latency.p99,
      max: result.latency.max,
      mean: result.latency.mean,
    },
    cpuSeconds: cpu,
    cpuCores: cpu / seconds,
    tokensPerCpuSecond: cpu > 0 ? ok / cpu : 0,
    eventLoopCpuSeconds: loopCpu,
    eventLoopMicrosPerToken: ok > 0 ? (loopCpu / ok) * 1e6 : 0,
    serverProcesses: processTree(options.pid).length,
    loadGeneratorCores: self / seconds,
    otherCores: Math.max(0, machine - cpu - self) / seconds,
    rss: {
      startBytes: samples[0]!.bytes,
      peakBytes: Math.max(...samples.map((s) => s.bytes)),
      endBytes: samples[samples.length - 1]!.bytes,
      samples,
    },
    warmup: {
      requests: warm?.requests.total ?? 0,
      non2xx: warm?.non2xx ?? 0,
      errors: warm?.errors ?? 0,
      primingRequests: primed?.requests.total ?? 0,
      primingNon2xx: primed?.non2xx ?? 0,
    },
  };
}
