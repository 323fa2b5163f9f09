import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { runToCompletion } from './lib/proc.js';

/** The verifier's and client's own micro-benchmarks, written by their packages' authors. */
export const microBenches = [
  {
    name: 'verifier',
    file: 'packages/verifier/bench/verify.bench.ts',
    description: 'verifier: never-seen tokens and a reused token, beside bare jose.jwtVerify',
  },
  {
    name: 'client',
    file: 'packages/client/bench/get-token.bench.ts',
    description: "client: cached getToken(), beside a bare Map lookup",
  },
  {
    name: 'sign-hop',
    file: 'bench/micro/sign-hop.bench.ts',
    description: 'issue 24: CPU per RSA-2048 signature on the libuv pool against on the calling thread',
  },
] as const;

export interface MicroRatio {
  name: string;
  value: number;
  /** The bound the benchmark itself states, if it states one (`target ≥ 2x` / `target ≤ 2×`). */
  min: number | null;
  max?: number | null;
}

export interface MicroResult {
  name: string;
  file: string;
  description: string;
  status: 'ok' | 'not available';
  /** Why it is not available (missing file, non-zero exit, timeout). */
  reason?: string;
  seconds?: number;
  /** The last line of stdout that parsed as a JSON object, if any. */
  json?: Record<string, unknown>;
  /** Stdout as printed (trimmed to a sane size). */
  stdout?: string;
  /**
   * Ratios it reported: numeric JSON fields whose name mentions "ratio", or text lines like
   * `reused / jose.jwtVerify: 473.2x (target ≥ 10x)`.
   */
  ratios?: MicroRatio[];
}

function lastJsonObject(stdout: string): Record<string, unknown> | undefined {
  const lines = stdout.split('\n').map((l) => l.trim()).filter(Boolean);
  for (let i = lines.length - 1; i >= 0; i -= 1) {
    const line = lines[i]!;
    if (!line.startsWith('{')) continue;
    try {
      const parsed = JSON.parse(line) as unknown;
      if (parsed && typeof parsed === 'object' && !Array.isArray(parsed)) return parsed as Record<string, unknown>;
    } catch {
      // not JSON; keep looking
    }
  }
  // Perhaps the whole output is one (pretty-printed) JSON document.
  try {
    const parsed = JSON.parse(stdout) as unknown;
    if (parsed && typeof parsed === 'object' && !Array.isArray(parsed)) return parsed as Record<string, unknown>;
  } catch {
    // not JSON
  }
  return undefined;
}

/** Numeric fields whose key path mentions "ratio" (e.g. `{ ratios: { reused_vs_jose: 3.1 } }`). */
function jsonRatios(value: unknown, path: string[] = [], out: MicroRatio[] = []): MicroRatio[] {
  if (value && typeof value === 'object') {
    for (const [key, child] of Object.entries(value as Record<string, unknown>)) jsonRatios(child, [...path, key], out);
  } else if (typeof value === 'number' && Number.isFinite(value) && path.some((p) => /ratio|speedup|vs/i.test(p))) {
    out.push({ name: path.join('.'), value, min: null, max: null });
  }
  return out;
}

/** Lines such as `never-seen / jose.jwtVerify: 4.18x (target ≥ 2x)`. */
function textRatios(stdout: string): MicroRatio[] {
  const out: MicroRatio[] = [];
  for (const line of stdout.split('\n')) {
    const match = /^\s*(.+?):\s*(\d+(?:\.\d+)?)\s*[x×](?![\w])(.*)$/.exec(line);
    if (!match) continue;
    const rest = match[3]!;
    const bound = /target\s*(≥|>=|≤|<=)\s*(\d+(?:\.\d+)?)/.exec(rest);
    const atLeast = bound && (bound[1] === '≥' || bound[1] === '>=');
    // Keep the words after the figure ("slower", "faster") in the name: they give its direction.
    const words = rest.replace(/\(.*?\)/g, '').trim();
    out.push({
      name: `${match[1]!.trim()}${words ? ` (${words})` : ''}`,
      value: Number(match[2]),
      min: bound && atLeast ? Number(bound[2]) : null,
      max: bound && !atLeast ? Number(bound[2]) : null,
    });
  }
  return out;
}

export async function runMicroBench(root: string, bench: (typeof microBenches)[number], timeoutMs: number): Promise<MicroResult> {
  const base = { name: bench.name, file: bench.file, description: bench.description };
  const path = join(root, bench.file);
  if (!existsSync(path)) return { ...base, status: 'not available', reason: `${bench.file} does not exist` };
  const started = Date.now();
  const result = await runToCompletion(process.execPath, ['--import', 'tsx', path], {
    env: { ...process.env, NODE_ENV: 'production' },
    cwd: root,
    timeoutMs,
  });
  const seconds = (Date.now() - started) / 1000;
  const stdout = result.stdout.trim().slice(-20_000);
  if (result.code !== 0) {
    const why = result.timedOut ? `timed out after ${timeoutMs / 1000} s` : `exited with code ${result.code}`;
    const detail = result.stderr.trim().split('\n').slice(-5).join(' | ');
    return { ...base, status: 'not available', reason: `${why}${detail ? `: ${detail.slice(0, 500)}` : ''}`, seconds, stdout };
  }
  const json = lastJsonObject(stdout);
  const fromJson = json ? jsonRatios(json) : [];
  const ratios = fromJson.length ? fromJson : textRatios(stdout);
  return { ...base, status: 'ok', seconds, stdout, ...(json ? { json } : {}), ...(ratios.length ? { ratios } : {}) };
}
