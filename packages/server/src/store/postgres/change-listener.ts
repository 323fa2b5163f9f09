import pg from 'pg';

/** The NOTIFY channel of the schema a session works in (computed by PostgreSQL itself). */
export const channelSql = `'tessera_' || left(md5(current_schema()), 16)`;

/** Reconnect delays grow from the first to the last (ms). */
const firstRetryMs = 100;
const lastRetryMs = 2_000;
/** A LISTEN connection can die silently behind a NAT; a query every so often proves it alive. */
const heartbeatMs = 10_000;

/**
 * One dedicated connection that LISTENs on the schema's channel and calls `onChange` for every
 * notification another store instance sent. It reconnects by itself (with backoff) whenever
 * the connection breaks, and calls `onChange` after every (re)connect, because notifications
 * sent while it was not listening are lost: the consumer then catches up through the
 * change feed. Connection errors never escape as unhandled 'error' events.
 */
export class ChangeListener {
  readonly #config: pg.ClientConfig;
  readonly #instanceId: string;
  readonly #onChange: () => void;
  #client: pg.Client | undefined;
  #stopped = false;
  #attempt = 0;
  #retryTimer: NodeJS.Timeout | undefined;
  #heartbeat: NodeJS.Timeout | undefined;
  /** Times the connection was lost; tests and logs read it. */
  reconnects = 0;

  constructor(config: pg.ClientConfig, instanceId: string, onChange: () => void) {
    this.#config = config;
    this.#instanceId = instanceId;
    this.#onChange = onChange;
  }

  start(): void {
    void this.#connect();
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    clearTimeout(this.#retryTimer);
    clearInterval(this.#heartbeat);
    const client = this.#client;
    this.#client = undefined;
    await client?.end().catch(() => {});
  }

  async #connect(): Promise<void> {
    if (this.#stopped) return;
    const client = new pg.Client(this.#config);
    let lost = false;
    const onLost = () => {
      if (lost) return;
      lost = true;
      this.#lost(client);
    };
    client.on('error', onLost);
    client.on('end', onLost);
    client.on('notification', (message) => {
      if (message.payload !== this.#instanceId) this.#onChange();
    });
    try {
      await client.connect();
      const { rows } = await client.query<{ channel: string }>(`SELECT ${channelSql} AS channel`);
      // The channel is 'tessera_' plus hex digits: safe to quote as an identifier.
      await client.query(`LISTEN "${rows[0]!.channel}"`);
    } catch {
      onLost();
      return;
    }
    if (this.#stopped || lost) {
      await client.end().catch(() => {});
      return;
    }
    this.#client = client;
    this.#attempt = 0;
    clearInterval(this.#heartbeat);
    this.#heartbeat = setInterval(() => {
      client.query('SELECT 1').catch(onLost);
    }, heartbeatMs);
    this.#heartbeat.unref();
    this.#onChange();
  }

  #lost(client: pg.Client): void {
    if (this.#client === client) {
      this.#client = undefined;
      clearInterval(this.#heartbeat);
    }
    client.end().catch(() => {});
    if (this.#stopped) return;
    this.reconnects += 1;
    const delay = Math.min(lastRetryMs, firstRetryMs * 2 ** this.#attempt);
    this.#attempt += 1;
    clearTimeout(this.#retryTimer);
    this.#retryTimer = setTimeout(() => void this.#connect(), delay);
    this.#retryTimer.unref();
  }
}
