import { spawn, type ChildProcessByStdio } from 'node:child_process';
import type { Readable } from 'node:stream';
import { fileURLToPath } from 'node:url';

/** The real `tessera` bin (built output; `npm test` builds first). */
export const tesseraBin = fileURLToPath(new URL('../../bin/tessera.cjs', import.meta.url));

export interface CliResult {
  status: number | null;
  stdout: string;
  stderr: string;
}

const repoRoot = fileURLToPath(new URL('../../../../', import.meta.url));
const cliMain = fileURLToPath(new URL('../../src/cli/main.ts', import.meta.url));

/** Runs `tessera ARGS` in a child process with only the given environment added. */
export function runCli(args: string[], env: NodeJS.ProcessEnv = {}): Promise<CliResult> {
  return finished(
    spawn(process.execPath, [tesseraBin, ...args], {
      env: { PATH: process.env.PATH, HOME: process.env.HOME, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    }),
  );
}

/** `tessera ARGS` from source (tsx, no build needed), with only the given environment added. */
export function runSourceCli(args: string[], env: NodeJS.ProcessEnv = {}): Promise<CliResult> {
  return finished(
    spawn(process.execPath, ['--import', 'tsx', cliMain, ...args], {
      cwd: repoRoot,
      env: { PATH: process.env.PATH, HOME: process.env.HOME, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    }),
  );
}

/** The child's output and exit status, once it has exited. */
function finished(child: ChildProcessByStdio<null, Readable, Readable>): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk));
    child.on('error', reject);
    child.on('close', (status) => resolve({ status, stdout, stderr }));
  });
}
