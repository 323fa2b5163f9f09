/**
 * `/metrics` and the console's activity are the instance's under `serve --workers 2`: every
 * scrape, whichever worker answers it, reads every worker's counts, and a worker killed with
 * -9 (and restarted by the supervisor) does not make the instance's counters go backwards.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { runCli } from './support/cli.js';
import { startTesseraProcess, within, type TesseraProcess } from './support/instances.js';
import { basicAuthorization } from './support/tessera.js';

/** One request on a new connection, so the primary hands each to the next worker. */
function send(
  url: string,
  method: 'GET' | 'POST',
  path: string,
  headers: Record<string, string>,
  body?: string,
): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const outgoing = request(`${url}${path}`, { method, agent: false, headers }, (response) => {
      let text = '';
      response.on('data', (chunk: Buffer) => (text += chunk));
      response.on('end', () => resolve({ status: response.statusCode ?? 0, body: text }));
    });
    outgoing.on('error', reject);
    outgoing.end(body);
  });
}

/** Prometheus text → `name{labels}` → value. */
function parseMetrics(text: string): Map<string, number> {
  const values = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const space = line.lastIndexOf(' ');
    values.set(line.slice(0, space), Number(line.slice(space + 1)));
  }
  return values;
}

const issuedSeries =
  'tessera_token_requests_total{outcome="issued",auth_method="client_secret_basic",tenant="default"}';
const wrongSecretSeries =
  'tessera_client_auth_failures_total{reason="wrong_secret",tenant="default"}';

interface Client {
  client_id: string;
  client_secret: string;
}

describe('metrics and activity across the workers of one serve', () => {
  let dataDir: string;
  let server: TesseraProcess;
  let client: Client;
  let adminClient: Client;
  const tokens = 20;

  const logLines = () =>
    server
      .output()
      .split('\n')
      .filter((line) => line.startsWith('{'))
      .map((line) => JSON.parse(line) as { msg?: string; pid: number; reqId?: string });
  const listeningPids = () =>
    logLines()
      .filter((line) => line.msg === 'tessera listening')
      .map((line) => line.pid);

  const token = (who: Client, secret: string, requestId: string) =>
    send(
      server.url,
      'POST',
      '/oauth/token',
      {
        'content-type': 'application/x-www-form-urlencoded',
        authorization: basicAuthorization(who.client_id, secret),
        'x-request-id': requestId,
      },
      'grant_type=client_credentials',
    );

  const scrape = async () => {
    const answer = await send(server.url, 'GET', '/metrics', {});
    assert.equal(answer.status, 200, answer.body);
    return parseMetrics(answer.body);
  };

  let adminToken: string | undefined;
  const admin = async (path: string) => {
    if (adminToken === undefined) {
      const answer = await token(adminClient, adminClient.client_secret, 'admin-token');
      assert.equal(answer.status, 200, answer.body);
      adminToken = (JSON.parse(answer.body) as { access_token: string }).access_token;
    }
    const answer = await send(server.url, 'GET', path, { authorization: `Bearer ${adminToken}` });
    assert.equal(answer.status, 200, answer.body);
    return JSON.parse(answer.body) as Record<string, unknown>;
  };
  const clientRow = async (clientId: string) => {
    const { clients } = (await admin('/admin/v1/activity/clients')) as {
      clients: Array<{ client_id: string; tokens_issued_24h: number; auth_failures_24h: number }>;
    };
    const row = clients.find((entry) => entry.client_id === clientId);
    return row && { issued: row.tokens_issued_24h, failed: row.auth_failures_24h };
  };
  const seriesTotals = async (clientId: string) =>
    (
      (await admin(`/admin/v1/activity?client_id=${encodeURIComponent(clientId)}`)) as {
        totals: { issued: number; auth_failures: number };
      }
    ).totals;

  before(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'tessera-metrics-workers-'));
    const env = { TESSERA_DATA_DIR: dataDir };
    const create = async (args: string[]) => {
      const created = await runCli(['clients', 'create', ...args, '--json'], env);
      assert.equal(created.status, 0, created.stderr);
      return JSON.parse(created.stdout) as Client;
    };
    client = await create(['--name', 'counted']);
    adminClient = await create(['--name', 'console', '--scope', 'tessera:admin']);
    server = await startTesseraProcess(`sqlite:${join(dataDir, 'tessera.db')}`, {
      ...env,
      TESSERA_WORKERS: '2',
      // The per-client 24-hour gauges are exported only when asked for.
      TESSERA_METRICS_CLIENT_LABELS: 'true',
    });
    assert.ok(await within(20_000, async () => listeningPids().length >= 2), server.output());
  });
  after(async () => {
    await server?.stop();
    if (dataDir) await rm(dataDir, { recursive: true, force: true });
  });

  it('reads every worker’s counts on every scrape, and none go back when a worker is killed', async () => {
    for (let i = 0; i < tokens; i += 1) {
      const answer = await token(client, client.client_secret, `counted-${i}`);
      assert.equal(answer.status, 200, answer.body);
    }
    assert.equal((await token(client, 'wrong secret', 'refused-0')).status, 401);
    assert.equal((await token(client, 'wrong secret', 'refused-1')).status, 401);

    // The tokens really were issued by both workers. Request lines are
    // read from the pipe as they arrive, after the answers.
    const countedLines = () => logLines().filter((line) => line.reqId?.startsWith('counted-'));
    await within(5_000, async () => countedLines().length === tokens);
    const issuingPids = new Set(countedLines().map((line) => line.pid));
    assert.deepEqual([...issuingPids].sort(), [...new Set(listeningPids())].sort());
    assert.equal(issuingPids.size, 2);

    // Every scrape, each on a new connection (so both workers answer some), reads them all.
    for (let i = 0; i < 6; i += 1) {
      const metrics = await scrape();
      assert.equal(metrics.get(issuedSeries), tokens, `scrape ${i}`);
      assert.equal(metrics.get(wrongSecretSeries), 2, `scrape ${i}`);
      assert.equal(
        metrics.get('tessera_token_request_duration_seconds_count{tenant="default"}'),
        tokens + 2,
      );
      assert.equal(
        metrics.get(`tessera_client_tokens_issued_24h{client_id="${client.client_id}"}`),
        tokens,
      );
    }
    // The console's numbers are the instance's too (the admin token adds one issued token).
    for (let i = 0; i < 4; i += 1) {
      assert.deepEqual(await clientRow(client.client_id), { issued: tokens, failed: 2 });
      assert.deepEqual(await seriesTotals(client.client_id), { issued: tokens, auth_failures: 2 });
    }
    const overall = (await admin('/admin/v1/activity')) as { totals: { issued: number } };
    assert.equal(overall.totals.issued, tokens + 1);

    // Kill one worker with -9: no chance to say goodbye. The supervisor starts another.
    const [victim] = new Set(listeningPids());
    process.kill(victim!, 'SIGKILL');
    assert.ok(
      await within(20_000, async () => server.output().includes('worker died; starting another')),
    );
    for (let i = 0; i < 4; i += 1) {
      const metrics = await scrape();
      assert.equal(metrics.get(issuedSeries), tokens + 1, `scrape ${i} after the kill`);
      assert.equal(metrics.get(wrongSecretSeries), 2, `scrape ${i} after the kill`);
      assert.equal(
        metrics.get(`tessera_client_tokens_issued_24h{client_id="${client.client_id}"}`),
        tokens,
      );
      assert.deepEqual(await clientRow(client.client_id), { issued: tokens, failed: 2 });
      assert.deepEqual(await seriesTotals(client.client_id), { issued: tokens, auth_failures: 2 });
    }

    // The replacement worker counts on top, and the killed one's counts stay.
    assert.ok(
      await within(20_000, async () => new Set(listeningPids()).size >= 3),
      server.output(),
    );
    const more = 6;
    for (let i = 0; i < more; i += 1) {
      const answer = await token(client, client.client_secret, `after-${i}`);
      assert.equal(answer.status, 200, answer.body);
    }
    const replacement = listeningPids().at(-1);
    assert.ok(
      await within(5_000, async () =>
        logLines().some((line) => line.reqId?.startsWith('after-') && line.pid === replacement),
      ),
      'the replacement worker issued some of them',
    );
    for (let i = 0; i < 4; i += 1) {
      const metrics = await scrape();
      assert.equal(metrics.get(issuedSeries), tokens + 1 + more, `scrape ${i} after the restart`);
      assert.deepEqual(await clientRow(client.client_id), { issued: tokens + more, failed: 2 });
      assert.deepEqual(await seriesTotals(client.client_id), {
        issued: tokens + more,
        auth_failures: 2,
      });
    }
  });
});
