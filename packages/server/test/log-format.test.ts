/** TESSERA_LOG_FORMAT: JSON lines by default, pino-pretty for a person at a terminal. */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { runCli, tesseraBin } from './support/cli.js';

/** Runs `serve` until its "tessera listening" line, then stops it; returns what it printed. */
function serveUntilListening(env: NodeJS.ProcessEnv): Promise<string> {
  const child = spawn(process.execPath, [tesseraBin, 'serve', '--workers', '1', '--port', '0'], {
    env: { PATH: process.env.PATH, HOME: process.env.HOME, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`no "tessera listening" line:\n${output}`));
    }, 20_000);
    child.stdout.on('data', (chunk: Buffer) => {
      output += chunk;
      if (output.includes('tessera listening') && child.exitCode === null) child.kill('SIGTERM');
    });
    child.stderr.on('data', (chunk: Buffer) => (output += chunk));
    child.once('exit', () => {
      clearTimeout(timer);
      resolve(output);
    });
  });
}

describe('log format', () => {
  let dataDir: string;
  before(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'tessera-log-format-'));
  });
  after(() => rm(dataDir, { recursive: true, force: true }));

  it('writes one JSON object per line by default', async () => {
    const output = await serveUntilListening({ TESSERA_DATA_DIR: dataDir });
    const line = output.split('\n').find((candidate) => candidate.includes('tessera listening'));
    assert.equal((JSON.parse(line!) as { msg: string }).msg, 'tessera listening');
  });

  it('writes human-readable lines with TESSERA_LOG_FORMAT=pretty', async () => {
    const output = await serveUntilListening({
      TESSERA_DATA_DIR: dataDir,
      TESSERA_LOG_FORMAT: 'pretty',
    });
    const line = output.split('\n').find((candidate) => candidate.includes('tessera listening'));
    assert.match(line!, /^\[\d\d:\d\d:\d\d\.\d{3}\] INFO \(\d+\): tessera listening$/);
    assert.ok(!output.includes('{"level"'), output);
  });

  it('refuses another format, naming the variable', async () => {
    const result = await runCli(['serve', '--workers', '1', '--port', '0'], {
      TESSERA_DATA_DIR: dataDir,
      TESSERA_LOG_FORMAT: 'xml',
    });
    assert.notEqual(result.status, 0);
    assert.match(result.stderr, /TESSERA_LOG_FORMAT must be one of json, pretty, got "xml"/);
  });
});
