/**
 * Settings as `tessera serve` reads them at start, over real processes: the default issuer
 * follows the listen port (with a warning), every bad setting is refused with a message naming
 * it, and a TOML configuration file (`--config`, `TESSERA_CONFIG`) ranks below the environment
 * and flags; `tessera config check` validates a file and the environment together.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { runCli, tesseraBin } from './support/cli.js';

/** A port that was free a moment ago. */
async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/** Starts `serve --workers 1`, waits for "tessera listening", returns its log and discovery. */
async function serveAndDiscover(args: string[], env: NodeJS.ProcessEnv) {
  const child = spawn(process.execPath, [tesseraBin, 'serve', '--workers', '1', ...args], {
    env: { PATH: process.env.PATH, HOME: process.env.HOME, TESSERA_LOG_LEVEL: 'info', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let log = '';
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk));
  try {
    const url = await new Promise<string>((resolve, reject) => {
      child.stdout.on('data', (chunk: Buffer) => {
        log += chunk;
        const match = /"url":"(http:\/\/[^"]+)"[^\n]*"msg":"tessera listening"/.exec(log);
        if (match) resolve(match[1]!);
      });
      child.once('exit', (code) => reject(new Error(`serve exited with ${code}: ${stderr}`)));
    });
    const response = await fetch(`${url}/.well-known/oauth-authorization-server`);
    const metadata = (await response.json()) as { issuer: string; token_endpoint: string };
    return { url, log, metadata };
  } finally {
    child.kill('SIGTERM');
    await new Promise((resolve) => child.once('close', resolve));
  }
}

describe('settings at start', () => {
  let dir: string;
  let env: NodeJS.ProcessEnv;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'tessera-settings-'));
    env = { DATABASE_URL: `sqlite:${join(dir, 'tessera.db')}` };
  });
  after(() => rm(dir, { recursive: true, force: true }));

  it('advertises the port it listens on when TESSERA_ISSUER is unset, and warns', async () => {
    const port = await freePort();
    const { metadata, log } = await serveAndDiscover(['--port', String(port)], env);
    assert.equal(metadata.issuer, `http://localhost:${port}`);
    assert.equal(metadata.token_endpoint, `http://localhost:${port}/oauth/token`);
    const warnings = log.split('\n').filter((line) => line.includes('"level":40'));
    assert.equal(warnings.length, 1, log);
    assert.match(
      warnings[0]!,
      /TESSERA_ISSUER is not set: the issuer \(iss, discovery\) follows the listen address/,
    );
  });

  it('follows the port the system picked for --port 0', async () => {
    const { url, metadata } = await serveAndDiscover(['--port', '0'], env);
    assert.equal(metadata.issuer, url.replace('127.0.0.1', 'localhost'));
  });

  it('uses TESSERA_ISSUER as given, without the warning', async () => {
    const { metadata, log } = await serveAndDiscover(['--port', '0'], {
      ...env,
      TESSERA_ISSUER: 'https://auth.example.test',
    });
    assert.equal(metadata.issuer, 'https://auth.example.test');
    assert.doesNotMatch(log, /"level":40/);
  });

  const badSettings: Array<[string, string, string]> = [
    [
      'TESSERA_LOG_LEVEL',
      'verbose',
      'TESSERA_LOG_LEVEL must be one of fatal, error, warn, info, debug, trace, silent, got "verbose"',
    ],
    [
      'TESSERA_DEFAULT_AUDIENCE',
      'not a uri',
      'TESSERA_DEFAULT_AUDIENCE must be an absolute URI without a fragment, got "not a uri"',
    ],
    ['TESSERA_PRESET', 'nope', 'TESSERA_PRESET names an unknown preset "nope"'],
    ['HOST', 'not a host', 'HOST must be a host name or an IP address, got "not a host"'],
    ['DATABASE_URL', 'mysql://db', 'DATABASE_URL mysql://db: expected sqlite:PATH or postgres://…'],
    [
      'TESSERA_KEK',
      'too-short',
      'TESSERA_KEK must hold 32-byte keys encoded as base64 or hex, comma-separated',
    ],
    [
      'UV_THREADPOOL_SIZE',
      'many',
      'UV_THREADPOOL_SIZE must be an integer from 1 to 1024, got "many"',
    ],
    [
      'TESSERA_ISSUER',
      'localhost:8080',
      'TESSERA_ISSUER must be an http(s) URL without query or fragment',
    ],
    ['PORT', 'eighty', 'PORT must be an integer from 0 to 65535, got "eighty"'],
    ['TESSERA_TOKEN_TTL', '0', 'TESSERA_TOKEN_TTL must be an integer from 1 to 31622400, got "0"'],
    ['TESSERA_WORKERS', 'all', 'TESSERA_WORKERS must be a whole number from 1 to 256, got "all"'],
  ];
  for (const [name, value, message] of badSettings) {
    it(`refuses ${name}=${JSON.stringify(value)}, naming it`, { timeout: 20_000 }, async () => {
      // --port 0 would win over PORT; should a bad value be accepted, the test fails by timeout.
      const args = name === 'PORT' ? ['serve'] : ['serve', '--port', '0'];
      const result = await runCli(args, { ...env, [name]: value });
      assert.equal(result.status, 1, result.stderr);
      assert.ok(result.stderr.startsWith(`tessera: ${message}`), result.stderr);
      assert.equal(result.stderr.trim().split('\n').length, 1, result.stderr);
      // The secret itself never appears in the refusal.
      if (name === 'TESSERA_KEK') assert.doesNotMatch(result.stderr, /too-short/);
    });
  }

  it('config check names every bad setting of the environment at once (exit 1)', async () => {
    const bad = Object.fromEntries(badSettings.map(([name, value]) => [name, value]));
    const result = await runCli(['config', 'check'], bad);
    assert.equal(result.status, 1, result.stderr);
    for (const [name] of badSettings) assert.match(result.stderr, new RegExp(`\\n  ${name} `));
    assert.match(
      result.stderr,
      new RegExp(`^tessera: ${badSettings.length} bad setting\\(s\\):\\n`),
    );
  });

  it('reads a TOML file (--config or TESSERA_CONFIG): flag > environment > file > default', async () => {
    const [filePort, envPort, flagPort] = [await freePort(), await freePort(), await freePort()];
    const file = join(dir, 'tessera.toml');
    await writeFile(
      file,
      `port = ${filePort}\nsigning_alg = "ES256"\ntrusted_proxies = ["10.0.0.0/8"]\n`,
    );
    const fromFile = await serveAndDiscover(['--config', file], env);
    assert.equal(fromFile.metadata.issuer, `http://localhost:${filePort}`);
    assert.match(fromFile.log, /"signingAlg":"ES256"/);
    const fromEnv = await serveAndDiscover([], {
      ...env,
      TESSERA_CONFIG: file,
      PORT: String(envPort),
    });
    assert.equal(fromEnv.metadata.issuer, `http://localhost:${envPort}`);
    assert.match(fromEnv.log, /"signingAlg":"ES256"/);
    const fromFlag = await serveAndDiscover(['--config', file, '--port', String(flagPort)], {
      ...env,
      PORT: String(envPort),
    });
    assert.equal(fromFlag.metadata.issuer, `http://localhost:${flagPort}`);
    const check = await runCli(['config', 'check', '--config', file], env);
    assert.equal(check.status, 0, check.stderr);
    assert.equal(check.stdout, `The configuration from ${file} and the environment is valid.\n`);
  });

  it('config check names each bad key of a file, with the environment’s problems', async () => {
    const file = join(dir, 'bad.toml');
    await writeFile(file, 'port = "x"\nlog_level = "verbose"\nkek = "secret"\nprot = 1\n');
    const result = await runCli(['config', 'check', '--config', file], {
      TESSERA_DEFAULT_AUDIENCE: 'not a uri',
    });
    assert.equal(result.status, 1);
    assert.equal(
      result.stderr,
      [
        'tessera: 5 bad setting(s):',
        `  ${file}: kek cannot be set in a configuration file; use TESSERA_KEK`,
        `  ${file}: prot is not a Tessera setting`,
        '  port must be an integer from 0 to 65535, got "x" (--port or PORT)',
        '  TESSERA_DEFAULT_AUDIENCE must be an absolute URI without a fragment, got "not a uri"',
        '  log_level must be one of fatal, error, warn, info, debug, trace, silent, got "verbose" (TESSERA_LOG_LEVEL)',
        '',
      ].join('\n'),
    );
    const serve = await runCli(['serve', '--config', file], env);
    assert.equal(serve.status, 1);
    assert.match(serve.stderr, /kek cannot be set in a configuration file/);
  });

  it('names the line of a TOML syntax error, and a missing file', async () => {
    const file = join(dir, 'broken.toml');
    await writeFile(file, 'port = 8080\nhost = = "x"\n');
    const broken = await runCli(['config', 'check', '--config', file]);
    assert.equal(broken.status, 1);
    assert.match(broken.stderr, new RegExp(`configuration file ${file}: line 2, column \\d+: `));
    const missing = await runCli(['serve', '--config', join(dir, 'none.toml')], env);
    assert.equal(missing.status, 1);
    assert.match(missing.stderr, /^tessera: configuration file .*none\.toml: ENOENT/);
  });
});
