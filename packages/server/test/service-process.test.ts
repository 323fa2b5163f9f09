/**
 * Tessera as a service manager sees it, over real processes: a start-up failure with several
 * workers exits 1 with one message, signals reach the server through `npm start` and stop every
 * worker, a worker that dies later is replaced, and CLI commands end cleanly on a closed pipe.
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, it } from 'node:test';
import { runCli, tesseraBin } from './support/cli.js';

const repoRoot = fileURLToPath(new URL('../../..', import.meta.url));

interface Finished {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  ms: number;
}

/** Spawns a command and collects its output until it exits (killing it after `timeoutMs`). */
function run(command: string, args: string[], env: NodeJS.ProcessEnv, timeoutMs = 15_000) {
  const started = Date.now();
  const child = spawn(command, args, { cwd: repoRoot, env, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk));
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk));
  const finished = new Promise<Finished>((resolve) => {
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('exit', (code, signal) => {
      clearTimeout(timer);
      const ms = Date.now() - started;
      // The rest of the output, unless an orphan still holds the pipes open.
      const done = () => resolve({ code, signal, stdout, stderr, ms });
      const grace = setTimeout(done, 2000);
      child.on('close', () => {
        clearTimeout(grace);
        done();
      });
    });
  });
  return { child, finished, output: () => stdout };
}

/** Resolves once `predicate` holds for the output collected so far. */
async function until(output: () => string, predicate: (text: string) => boolean, what: string) {
  const deadline = Date.now() + 60_000;
  while (!predicate(output())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}:\n${output()}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/** Every pid that wrote a log line: the primary and each worker. */
function loggedPids(log: string): number[] {
  return [...new Set([...log.matchAll(/"pid":(\d+)/g)].map((match) => Number(match[1])))];
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

function countOf(text: string, needle: string): number {
  return text.split(needle).length - 1;
}

describe('tessera as a service process', () => {
  let dir: string;
  let database: string;
  let env: NodeJS.ProcessEnv;
  let taken: Server;
  let takenPort: number;
  const children: ChildProcess[] = [];
  /** Pids to kill after the suite should a test fail and leave them running. */
  const leftovers: number[] = [];

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'tessera-service-'));
    database = `sqlite:${join(dir, 'tessera.db')}`;
    env = {
      PATH: process.env.PATH,
      HOME: process.env.HOME,
      TESSERA_DATA_DIR: dir,
      TESSERA_LOG_LEVEL: 'info',
    };
    taken = createServer();
    await new Promise<void>((resolve) => taken.listen(0, '127.0.0.1', resolve));
    takenPort = (taken.address() as { port: number }).port;
  });
  after(async () => {
    for (const child of children) if (child.exitCode === null) child.kill('SIGKILL');
    for (const pid of leftovers) if (alive(pid)) process.kill(pid, 'SIGKILL');
    await new Promise((resolve) => taken.close(resolve));
    await rm(dir, { recursive: true, force: true });
  });

  const serve = (...args: string[]) =>
    run(process.execPath, [tesseraBin, 'serve', '--database', database, ...args], env);

  it('exits 1 within seconds, with one message, when the port is taken (--workers 2)', async () => {
    const { finished } = serve('--workers', '2', '--port', String(takenPort));
    const result = await finished;
    assert.equal(result.code, 1, result.stderr);
    // "Within a few seconds" on a quiet machine; the bound only catches a server that stays up.
    assert.ok(result.ms < 20_000, `took ${result.ms} ms`);
    const message = `tessera: cannot listen on 127.0.0.1:${takenPort}: the port is already in use (--port, PORT)\n`;
    assert.equal(result.stderr, message);
    assert.equal(countOf(result.stdout, 'already in use'), 0);
  });

  for (const [what, args, expected] of [
    ['a host that does not resolve', ['--host', 'no-such-host.invalid'], 'does not resolve'],
    [
      'an unreadable TLS key file',
      ['--tls-cert', '/nonexistent/cert.pem', '--tls-key', '/nonexistent/key.pem'],
      '--tls-cert',
    ],
  ] as const) {
    it(`exits 1 with one message for ${what} (--workers 2)`, async () => {
      const result = await serve('--workers', '2', '--port', '0', ...args).finished;
      assert.equal(result.code, 1, result.stderr);
      // "Within a few seconds" on a quiet machine; the bound only catches a server that stays up.
      assert.ok(result.ms < 20_000, `took ${result.ms} ms`);
      assert.equal(countOf(result.stderr, expected), 1, result.stderr);
      assert.equal(result.stderr.trim().split('\n').length, 1, result.stderr);
    });
  }

  it('exits 1 with one message for an unknown preset, before forking (--workers 2)', async () => {
    const result = await run(
      process.execPath,
      [tesseraBin, 'serve', '--database', database, '--workers', '2', '--port', '0'],
      { ...env, TESSERA_PRESET: 'nope' },
    ).finished;
    assert.equal(result.code, 1, result.stderr);
    assert.equal(
      result.stderr,
      'tessera: TESSERA_PRESET names an unknown preset "nope"; known presets: tesouro, conta-simples, treezor, astrapay (--preset or TESSERA_PRESET)\n',
    );
    assert.equal(result.stdout, '');
  });

  it('replaces a worker that dies after start-up, and SIGINT stops them all', async () => {
    const server = serve('--workers', '2', '--port', '0');
    children.push(server.child);
    await until(server.output, (log) => log.includes('all workers ready'), 'two ready workers');
    const primary = server.child.pid!;
    const workers = loggedPids(server.output()).filter((pid) => pid !== primary);
    assert.equal(workers.length, 2);
    process.kill(workers[0]!, 'SIGKILL');
    await until(
      server.output,
      (log) => loggedPids(log).length === 4 && countOf(log, '"msg":"tessera listening"') === 3,
      'a replacement worker',
    );
    const pids = loggedPids(server.output());
    server.child.kill('SIGINT');
    const result = await server.finished;
    assert.equal(result.code, 0, result.stderr);
    assert.deepEqual(
      pids.filter((pid) => alive(pid)),
      [],
    );
  });

  it('stops every Tessera process when `npm start` gets SIGTERM', async () => {
    const npm = run(
      'npm',
      ['start', '--silent', '--', '--workers', '2', '--port', '0', '--database', database],
      env,
      90_000,
    );
    children.push(npm.child);
    await until(npm.output, (log) => log.includes('all workers ready'), 'npm start to serve');
    const pids = loggedPids(npm.output());
    leftovers.push(...pids);
    assert.equal(pids.length, 3, npm.output());
    npm.child.kill('SIGTERM');
    const result = await npm.finished;
    assert.ok(result.stdout.includes('"msg":"all workers stopped"'), result.stdout);
    // Give the kernel a moment to reap; nothing of Tessera may be left, re-parented or not.
    await new Promise((resolve) => setTimeout(resolve, 200));
    assert.deepEqual(
      pids.filter((pid) => alive(pid)),
      [],
    );
  });

  it('ends quietly when the reader of its output goes away (| head -c 0)', async () => {
    await runCli(['clients', 'create', '--name', 'Pipe', '--database', database], env);
    const child = spawn(
      process.execPath,
      [tesseraBin, 'clients', 'list', '--json', '--database', database],
      { env, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    child.stdout.destroy();
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk));
    const code = await new Promise((resolve) => child.on('close', resolve));
    assert.equal(stderr, '');
    assert.equal(code, 0);
  });

  it('migrate says which migrations it applied, then that there was nothing to apply', async () => {
    const fresh = `sqlite:${join(dir, 'fresh', 'tessera.db')}`;
    const first = await runCli(['migrate', '--database', fresh], env);
    assert.equal(first.status, 0, first.stderr);
    assert.match(
      first.stdout,
      /^Applied (\d+) migration\(s\), the schema is now at version \1:\n {2}1 {2}initial schema\n/,
    );
    const version = /version (\d+)/.exec(first.stdout)![1];
    const second = await runCli(['migrate', '--database', fresh], env);
    assert.equal(second.status, 0, second.stderr);
    assert.equal(
      second.stdout,
      `The database schema is up to date (version ${version}); nothing to apply.\n`,
    );
  });

  it('restore into a missing directory names that directory', async () => {
    const backup = join(dir, 'backup.db');
    assert.equal(
      (await runCli(['backup', '--out', backup, '--database', database], env)).status,
      0,
    );
    const target = join(dir, 'missing', 'tessera.db');
    const result = await runCli(['restore', backup, '--database', `sqlite:${target}`], env);
    assert.equal(result.status, 1);
    assert.equal(
      result.stderr,
      `tessera: cannot restore into ${target}: the directory ${join(dir, 'missing')} does not exist\n`,
    );
  });
});
