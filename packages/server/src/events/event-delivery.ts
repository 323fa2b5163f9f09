import { hostname } from 'node:os';
import { randomBytes } from 'node:crypto';
import type { Logger } from 'pino';
import { Agent, request } from 'undici';
import type { Store } from '../store/contract.js';
import type { StoredEvent } from './event-types.js';
import { wireEvent } from './event-types.js';
import { signatureHeader } from './webhook-signature.js';

/** What delivery needs from the store: the outbox, the lease, and change hints. */
export type EventOutbox = Pick<
  Store,
  'undeliveredEvents' | 'markEventDelivered' | 'recordEventFailure' | 'holdLease' | 'watch'
>;

export interface WebhookSettings {
  url: string;
  /** Signs every delivery (`Tessera-Signature`); unsigned without one. */
  secret: string | undefined;
}

/** The bounds of one delivery attempt. */
const requestTimeoutMs = 10_000;
const responseBodyLimit = 64 * 1024;
/** Backoff after the n-th failed attempt: 1 s, 2 s, 4 s, … up to a minute. */
export const retryDelayMs = (attempts: number) => Math.min(60_000, 1000 * 2 ** (attempts - 1));
/** An event undelivered this long after it happened is given up (and logged). */
const abandonAfterMs = 3 * 24 * 3600 * 1000;
/** The delivery lease: one deliverer per database, across workers and instances. */
const leaseName = 'events-webhook';
const leaseSeconds = 10;
const idleWaitMs = 1_000;

/**
 * Delivers the outbox to the webhook: one event per POST, in outbox order (so each client's
 * events arrive in the order they happened), the next only after a 2xx for the previous, each
 * failure retried with backoff. What has been delivered, and each event's attempts, live in the
 * database, so a restart (even after `kill -9`) resumes where delivery stood: an event whose
 * 2xx arrived but was not yet recorded is delivered again (at least once; receivers
 * de-duplicate on `id`). Nothing is queued in memory: a dead endpoint costs one row read per
 * attempt. One deliverer per database holds a lease row (renewed every few seconds, taken
 * over when it lapses), so several workers or instances never deliver the same event twice.
 */
export class EventDeliverer {
  readonly #holder = `${hostname()}:${process.pid}:${randomBytes(4).toString('hex')}`;
  readonly #agent = new Agent({
    connections: 1,
    headersTimeout: requestTimeoutMs,
    bodyTimeout: requestTimeoutMs,
    connectTimeout: requestTimeoutMs,
  });
  #stopped = false;
  #wake: (() => void) | undefined;
  #running: Promise<void> | undefined;
  #unwatch: (() => void) | undefined;

  constructor(
    private readonly outbox: EventOutbox,
    private readonly webhook: WebhookSettings,
    private readonly logger: Logger,
    private readonly nowMs: () => number = Date.now,
  ) {}

  start(): void {
    this.#unwatch = this.outbox.watch(() => this.#wake?.());
    this.#running = this.#loop();
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    this.#unwatch?.();
    this.#wake?.();
    await this.#running;
    await this.#agent.close();
  }

  async #loop(): Promise<void> {
    let leaseUntil = 0;
    while (!this.#stopped) {
      try {
        const now = this.nowMs();
        if (now >= leaseUntil - (leaseSeconds * 1000) / 2) {
          const until = Math.floor(now / 1000) + leaseSeconds;
          const held = await this.outbox.holdLease(
            leaseName,
            this.#holder,
            Math.floor(now / 1000),
            until,
          );
          leaseUntil = held ? until * 1000 : 0;
        }
        if (leaseUntil === 0) {
          await this.#sleep(idleWaitMs);
          continue;
        }
        const [next] = await this.outbox.undeliveredEvents(1);
        if (!next) {
          await this.#sleep(idleWaitMs);
          continue;
        }
        const wait = next.nextAttemptAt - this.nowMs();
        if (wait > 0) {
          await this.#sleep(Math.min(wait, idleWaitMs));
          continue;
        }
        await this.#attempt(next);
      } catch (error) {
        this.logger.error({ err: error }, 'event delivery loop failed');
        await this.#sleep(idleWaitMs);
      }
    }
  }

  async #attempt(event: StoredEvent): Promise<void> {
    const body = JSON.stringify(wireEvent(event));
    const t = Math.floor(this.nowMs() / 1000);
    let problem: string | undefined;
    try {
      const response = await request(this.webhook.url, {
        method: 'POST',
        dispatcher: this.#agent,
        headers: {
          'content-type': 'application/json',
          'user-agent': 'tessera-events',
          ...(this.webhook.secret !== undefined
            ? { 'tessera-signature': signatureHeader(this.webhook.secret, body, t) }
            : {}),
        },
        body,
        signal: AbortSignal.timeout(requestTimeoutMs * 2),
      });
      // Only the status matters; the body is read (bounded) so the connection can be reused.
      await response.body.dump({ limit: responseBodyLimit });
      if (response.statusCode >= 200 && response.statusCode < 300) {
        await this.outbox.markEventDelivered(event.seq, this.nowMs());
        return;
      }
      problem = `HTTP ${response.statusCode}`;
    } catch (error) {
      problem = error instanceof Error ? `${error.name}: ${error.message}` : 'request failed';
    }
    const attempts = event.attempts + 1;
    const abandoned = this.nowMs() - event.at > abandonAfterMs;
    await this.outbox.recordEventFailure(event.seq, {
      attempts,
      nextAttemptAt: this.nowMs() + retryDelayMs(attempts),
      error: problem.slice(0, 500),
      abandoned,
    });
    if (abandoned) {
      this.logger.error(
        { event: event.id, type: event.type, attempts, problem },
        'event delivery abandoned',
      );
    } else if (attempts === 1 || attempts % 10 === 0) {
      this.logger.warn(
        { event: event.id, type: event.type, attempts, problem },
        'event delivery failed; retrying',
      );
    }
  }

  #sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(done, ms);
      function done() {
        clearTimeout(timer);
        resolve();
      }
      this.#wake = done;
    });
  }
}
