/**
 * Real `tessera serve` processes for multi-instance tests: each runs the CLI from source (so no
 * build step is needed), listens on a port the OS picks, and reports it through its log.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';

const repoRoot = fileURLToPath(new URL('../../../../', import.meta.url));
const cliMain = fileURLToPath(new URL('../../src/cli/main.ts', import.meta.url));

export interface TesseraProcess {
  url: string;
  child: ChildProcess;
  /** Everything the process wrote so far (JSON log lines). */
  output(): string;
  /** SIGTERM and wait; resolves at once if it already exited. */
  stop(): Promise<void>;
  /** SIGKILL (kill -9) and wait. */
  kill(): Promise<void>;
}

/** A fresh 32-byte key-encryption key, as every instance of one deployment must share. */
export function newKek(): string {
  return randomBytes(32).toString('base64');
}

export async function startTesseraProcess(
  database: string,
  env: NodeJS.ProcessEnv,
  timeoutMs = 30_000,
): Promise<TesseraProcess> {
  const child = spawn(
    process.execPath,
    [
      '--import',
      'tsx',
      cliMain,
      'serve',
      '--port',
      '0',
      '--host',
      '127.0.0.1',
      '--database',
      database,
    ],
    {
      cwd: repoRoot,
      env: { PATH: process.env.PATH, HOME: process.env.HOME, TESSERA_LOG_LEVEL: 'info', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  let output = '';
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`tessera serve did not start in time:\n${output}`)),
      timeoutMs,
    );
    const onData = (chunk: Buffer) => {
      output += chunk;
      for (const line of output.split('\n')) {
        if (!line.includes('tessera listening')) continue;
        try {
          const { url: listening } = JSON.parse(line) as { url?: string };
          if (listening) {
            clearTimeout(timer);
            resolve(listening);
          }
        } catch {
          // a partial line: wait for the rest
        }
      }
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', (chunk: Buffer) => (output += chunk));
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`tessera serve exited with ${code}:\n${output}`));
    });
  });
  const signal = async (name: NodeJS.Signals) => {
    if (child.exitCode === null && child.signalCode === null) child.kill(name);
    await exited;
  };
  return {
    url,
    child,
    output: () => output,
    stop: () => signal('SIGTERM'),
    kill: () => signal('SIGKILL'),
  };
}

/** Polls `check` every 20 ms until it returns true or `ms` passes; returns whether it held. */
export async function within(ms: number, check: () => Promise<boolean>): Promise<boolean> {
  const deadline = Date.now() + ms;
  for (;;) {
    if (await check()) return true;
    if (Date.now() >= deadline) return false;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}
