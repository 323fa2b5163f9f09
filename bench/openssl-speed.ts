/**
 * The physical limit of RS256 on this machine: `openssl speed -seconds 3 rsa2048`, RSA-2048
 * signatures per second on one core, measured in the same run as the token endpoints (issue
 * 24), so "tokens per server CPU-second / OpenSSL's sign rate" holds on any machine.
 */
import { spawnSync } from 'node:child_process';

export interface OpensslSpeed {
  status: 'ok' | 'failed';
  error?: string;
  command: string;
  /** RSA-2048 sign/s, one measurement per call (before and after the HTTP targets). */
  signPerSecond: number[];
  /** The highest: the ratio against it is the conservative one. */
  best?: number;
  version?: string;
}

const args = ['speed', '-seconds', '3', 'rsa2048'];

/** One `openssl speed` run; undefined with the reason when openssl is missing or says nothing usable. */
export function opensslRsa2048SignRate(): { rate?: number; error?: string; version?: string } {
  const version = spawnSync('openssl', ['version'], { encoding: 'utf8' }).stdout?.trim();
  const run = spawnSync('openssl', args, { encoding: 'utf8', timeout: 60_000 });
  if (run.error || run.status !== 0) return { error: `openssl ${args.join(' ')}: ${run.error?.message ?? `exit ${run.status}`}` };
  // "rsa 2048 bits 0.000245s 0.000016s   4080.6  62600.0": sign time, verify time, sign/s, verify/s.
  const match = /^rsa\s+2048\s+bits\s+[\d.]+s\s+[\d.]+s\s+([\d.]+)\s+[\d.]+/m.exec(run.stdout);
  if (!match) return { error: `openssl ${args.join(' ')}: no "rsa 2048 bits" line in its output` };
  return { rate: Number(match[1]), ...(version ? { version } : {}) };
}

export function collectOpensslSpeed(runs: Array<ReturnType<typeof opensslRsa2048SignRate>>): OpensslSpeed {
  const rates = runs.flatMap((r) => (r.rate !== undefined ? [r.rate] : []));
  const command = `openssl ${args.join(' ')}`;
  const version = runs.find((r) => r.version)?.version;
  if (rates.length === 0) return { status: 'failed', command, signPerSecond: [], error: runs.map((r) => r.error).join('; ') };
  return { status: 'ok', command, signPerSecond: rates, best: Math.max(...rates), ...(version ? { version } : {}) };
}
