/**
 * Events: every change is written to an outbox in the transaction that makes it, and one
 * deliverer per database POSTs each to `--events-webhook`, signed, retried with backoff, in
 * order, with its delivery state in the database: a server killed with -9 between a change and
 * its delivery delivers it once after restart, and a receiver that is down for a while gets
 * every event later, each client's in order.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { verifySignature } from '../src/events/webhook-signature.js';
import { runCli, tesseraBin } from './support/cli.js';
import { startTesseraProcess, within, type TesseraProcess } from './support/instances.js';

interface Delivery {
  id: string;
  type: string;
  time: string;
  tenant: string;
  data: { client_id?: string; kid?: string };
  acknowledged: boolean;
}

const secret = 'webhook-signing-secret-for-tests';

/** A webhook receiver whose answer the test switches; it checks every signature. */
async function startReceiver(port = 0) {
  const deliveries: Delivery[] = [];
  const state = { status: 200, badSignatures: 0 };
  const server: Server = createServer((request, response) => {
    let body = '';
    request.on('data', (chunk: Buffer) => (body += chunk));
    request.on('end', () => {
      const signature = String(request.headers['tessera-signature'] ?? '');
      if (!verifySignature(secret, body, signature, Math.floor(Date.now() / 1000)))
        state.badSignatures += 1;
      const event = JSON.parse(body) as Omit<Delivery, 'acknowledged'>;
      const acknowledged = state.status >= 200 && state.status < 300;
      deliveries.push({ ...event, acknowledged });
      response.writeHead(state.status).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  const { port: bound } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${bound}/hooks/tessera`,
    port: bound,
    deliveries,
    state,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

const clientEvents = (deliveries: Delivery[]) =>
  deliveries.filter((delivery) => delivery.acknowledged && delivery.type.startsWith('client.'));

describe('events webhook', () => {
  let dataDir: string;
  let env: NodeJS.ProcessEnv;
  let server: TesseraProcess | undefined;
  const cli = async (args: string[]) => {
    const result = await runCli(args, env);
    assert.equal(result.status, 0, result.stderr);
    return result.stdout;
  };
  const createClient = async (name: string) =>
    (
      JSON.parse(await cli(['clients', 'create', '--name', name, '--json'])) as {
        client_id: string;
      }
    ).client_id;

  before(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'tessera-events-'));
  });
  after(async () => {
    await server?.stop();
    await rm(dataDir, { recursive: true, force: true });
  });

  it('delivers a change once after the server is killed with -9 before delivering it', async () => {
    const receiver = await startReceiver();
    env = {
      TESSERA_DATA_DIR: join(dataDir, 'kill'),
      TESSERA_EVENTS_WEBHOOK: receiver.url,
      TESSERA_EVENTS_WEBHOOK_SECRET: secret,
      TESSERA_WORKERS: '2',
    };
    const database = `sqlite:${join(dataDir, 'kill', 'tessera.db')}`;
    server = await startTesseraProcess(database, env);
    // The first signing key's events go through; from now on the receiver refuses.
    assert.ok(
      await within(15_000, async () =>
        receiver.deliveries.some((d) => d.acknowledged && d.type === 'key.activated'),
      ),
      server.output(),
    );
    receiver.state.status = 503;
    const clientId = await createClient('killed before delivery');
    const ofClient = () => receiver.deliveries.filter((d) => d.data.client_id === clientId);
    // Tried, refused by the receiver: undelivered when the server dies.
    assert.ok(await within(15_000, async () => ofClient().length >= 1));
    await server.kill();
    receiver.state.status = 204;
    const triedBefore = ofClient().length;
    server = await startTesseraProcess(database, env);
    // The dead deliverer's lease lapses within seconds; the new one takes over.
    assert.ok(
      await within(30_000, async () => ofClient().some((delivery) => delivery.acknowledged)),
      server.output(),
    );
    await new Promise((resolve) => setTimeout(resolve, 2500));
    const afterRestart = ofClient().slice(triedBefore);
    assert.equal(afterRestart.length, 1, JSON.stringify(afterRestart));
    assert.deepEqual(
      { ...afterRestart[0], id: typeof afterRestart[0]!.id, time: typeof afterRestart[0]!.time },
      {
        id: 'string',
        type: 'client.created',
        time: 'string',
        tenant: 'default',
        data: {
          client_id: clientId,
          name: 'killed before delivery',
          scope: '',
          auth_method: 'any',
        },
        acknowledged: true,
      },
    );
    // Every attempt carried the same id, for de-duplication.
    assert.equal(new Set(ofClient().map((delivery) => delivery.id)).size, 1);
    assert.equal(receiver.state.badSignatures, 0);
    await server.stop();
    server = undefined;
    await receiver.close();
  });

  it('delivers every event to a receiver that was down, each client’s in order', async () => {
    // A port with nothing listening: connections are refused until the receiver starts.
    const placeholder = await startReceiver();
    const port = placeholder.port;
    await placeholder.close();
    env = {
      TESSERA_DATA_DIR: join(dataDir, 'down'),
      TESSERA_EVENTS_WEBHOOK: `http://127.0.0.1:${port}/hooks/tessera`,
      TESSERA_EVENTS_WEBHOOK_SECRET: secret,
      TESSERA_WORKERS: '2',
    };
    server = await startTesseraProcess(`sqlite:${join(dataDir, 'down', 'tessera.db')}`, env);
    const a = await createClient('a');
    const b = await createClient('b');
    await cli(['clients', 'rotate-secret', b, '--json']);
    await cli(['clients', 'disable', a]);
    await cli(['clients', 'enable', a]);
    await cli(['clients', 'delete', b]);
    await cli(['keys', 'rotate']);
    await new Promise((resolve) => setTimeout(resolve, 3000));
    assert.ok(server.output().includes('event delivery failed; retrying'), server.output());

    const receiver = await startReceiver(port);
    const expected = {
      [a]: ['client.created', 'client.disabled', 'client.enabled'],
      [b]: ['client.created', 'client.secret_rotated', 'client.deleted'],
    };
    assert.ok(
      await within(40_000, async () => clientEvents(receiver.deliveries).length >= 6),
      JSON.stringify(receiver.deliveries),
    );
    const events = clientEvents(receiver.deliveries);
    for (const [clientId, types] of Object.entries(expected)) {
      assert.deepEqual(
        events.filter((event) => event.data.client_id === clientId).map((event) => event.type),
        types,
      );
    }
    assert.equal(new Set(events.map((event) => event.id)).size, events.length);
    assert.ok(
      await within(10_000, async () =>
        receiver.deliveries.some((d) => d.acknowledged && d.type === 'key.published'),
      ),
    );
    assert.equal(receiver.state.badSignatures, 0);

    // `events tail --since 0` prints the same events from the database, one JSON line each.
    const tail = spawn(process.execPath, [tesseraBin, 'events', 'tail', '--since', '0'], {
      env: { PATH: process.env.PATH, HOME: process.env.HOME, ...env },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let printed = '';
    tail.stdout.on('data', (chunk: Buffer) => (printed += chunk));
    const lines = () =>
      printed
        .split('\n')
        .filter(Boolean)
        .map((line) => JSON.parse(line) as Delivery);
    assert.ok(
      await within(
        10_000,
        async () => lines().filter((l) => l.type.startsWith('client.')).length >= 6,
      ),
    );
    assert.deepEqual(
      lines()
        .filter((line) => line.type.startsWith('client.'))
        .map((line) => line.id),
      events.map((event) => event.id),
    );
    // A change made now is printed as it commits.
    const c = await createClient('c');
    assert.ok(await within(10_000, async () => lines().some((line) => line.data.client_id === c)));
    tail.kill('SIGTERM');
    await new Promise((resolve) => tail.once('exit', resolve));
    await receiver.close();
  });
});
