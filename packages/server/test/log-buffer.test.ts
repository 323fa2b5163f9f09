/**
 * `--log-buffer` (issue 24): the token listener's `request completed` lines are written in
 * blocks, at most 250 ms late, and none is lost when the server stops; every other line is
 * written at once. Over a real `serve` process and its stdout pipe.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { startTesseraProcess, within, type TesseraProcess } from './support/instances.js';

interface Line {
  msg?: string;
  reqId?: string;
  level?: number;
}

const lines = (server: TesseraProcess): Line[] =>
  server
    .output()
    .split('\n')
    .filter((line) => line.startsWith('{'))
    .map((line) => JSON.parse(line) as Line);

/** A refused token request (no client): it too ends in one `request completed` line. */
const refusedToken = async (server: TesseraProcess, requestId: string) => {
  const answer = await fetch(`${server.url}/oauth/token`, {
    method: 'POST',
    headers: {
      'content-type': 'application/x-www-form-urlencoded',
      authorization: `Basic ${Buffer.from('nobody:nothing').toString('base64')}`,
      'x-request-id': requestId,
    },
    body: 'grant_type=client_credentials',
  });
  await answer.arrayBuffer();
  return answer.status;
};

const completed = (server: TesseraProcess, prefix: string) =>
  lines(server).filter(
    (line) => line.msg === 'request completed' && line.reqId?.startsWith(prefix),
  );

describe('request lines written in blocks (--log-buffer)', () => {
  let dataDir: string;
  let server: TesseraProcess;

  before(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'tessera-log-buffer-'));
    server = await startTesseraProcess(`sqlite:${join(dataDir, 'tessera.db')}`, {
      TESSERA_DATA_DIR: dataDir,
      TESSERA_WORKERS: '1',
      // Every request here fails authentication on purpose; no lockout may answer instead.
      TESSERA_AUTH_MAX_FAILURES_PER_CLIENT: '1000000',
      TESSERA_AUTH_MAX_FAILURES_PER_ADDRESS: '1000000',
    });
  });

  after(async () => {
    await server?.stop();
    await rm(dataDir, { recursive: true, force: true });
  });

  it('writes every request line within a second, whole and in JSON', async () => {
    for (let i = 0; i < 30; i += 1) assert.equal(await refusedToken(server, `block-${i}`), 401);
    assert.ok(
      await within(1_000, async () => completed(server, 'block-').length === 30),
      server.output().slice(-2000),
    );
    // Each line parsed (lines() throws on a cut one) and was counted once.
    const ids = completed(server, 'block-').map((line) => line.reqId);
    assert.equal(new Set(ids).size, 30);
  });

  it('loses no request line when the server stops right after answering', async () => {
    for (let i = 0; i < 20; i += 1) assert.equal(await refusedToken(server, `last-${i}`), 401);
    await server.stop();
    assert.equal(completed(server, 'last-').length, 20, server.output().slice(-2000));
  });
});

describe('one write per request line (--log-buffer 0)', () => {
  it('is accepted and still logs every request', async () => {
    const dataDir = await mkdtemp(join(tmpdir(), 'tessera-log-buffer-0-'));
    const server = await startTesseraProcess(`sqlite:${join(dataDir, 'tessera.db')}`, {
      TESSERA_DATA_DIR: dataDir,
      TESSERA_WORKERS: '1',
      // Every request here fails authentication on purpose; no lockout may answer instead.
      TESSERA_AUTH_MAX_FAILURES_PER_CLIENT: '1000000',
      TESSERA_AUTH_MAX_FAILURES_PER_ADDRESS: '1000000',
      TESSERA_LOG_BUFFER: '0',
    });
    try {
      for (let i = 0; i < 5; i += 1) assert.equal(await refusedToken(server, `each-${i}`), 401);
      assert.ok(await within(1_000, async () => completed(server, 'each-').length === 5));
    } finally {
      await server.stop();
      await rm(dataDir, { recursive: true, force: true });
    }
  });
});
