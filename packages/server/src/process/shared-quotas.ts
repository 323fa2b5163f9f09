import cluster from 'node:cluster';
import type { Lease, QuotaCounter } from '../quotas/quota-counter.js';
import type { WindowCount } from '../shared-state/shared-state.js';

/**
 * Token quotas across the workers of `serve --workers N` (issue 22): a worker leases its
 * allowances from the primary, which holds the one counter of the machine (its memory, or
 * the shared state of every instance: PostgreSQL or Redis). A worker asks only when its
 * allowance is spent (quotas/quota-gate.ts sizes the blocks), so the token path sends nothing
 * while it has tokens left.
 */
type Question =
  | {
      tessera: 'quota-lease';
      id: number;
      clientId: string;
      windowSeconds: number;
      limit: number;
      want: number;
    }
  | { tessera: 'quota-count'; id: number; clientId: string; windowSeconds: number }
  | {
      tessera: 'quota-give-back';
      clientId: string;
      windowSeconds: number;
      windowStart: number;
      count: number;
    };

interface Answer {
  tessera: 'quota-answer';
  id: number;
  result?: Lease | WindowCount;
  error?: string;
}

/** How long a worker waits for its primary before admitting the request uncounted. */
const answerTimeoutMs = 3_000;

class PrimaryQuotaCounter implements QuotaCounter {
  readonly #waiting = new Map<
    number,
    { resolve: (v: never) => void; reject: (e: Error) => void }
  >();
  #nextId = 0;

  constructor() {
    process.on('message', (message: Partial<Answer> | undefined) => {
      if (message?.tessera !== 'quota-answer') return;
      const waiting = this.#waiting.get(message.id!);
      this.#waiting.delete(message.id!);
      if (message.error !== undefined) waiting?.reject(new Error(message.error));
      else waiting?.resolve(message.result as never);
    });
  }

  #ask<T>(question: Question & { id: number }): Promise<T> {
    if (!process.connected) return Promise.reject(new Error('the primary is gone'));
    return new Promise<T>((resolve, reject) => {
      const timer = setTimeout(() => {
        if (this.#waiting.delete(question.id))
          reject(new Error('the primary did not answer a quota lease in time'));
      }, answerTimeoutMs);
      timer.unref();
      this.#waiting.set(question.id, {
        resolve: (value: never) => {
          clearTimeout(timer);
          resolve(value);
        },
        reject: (error) => {
          clearTimeout(timer);
          reject(error);
        },
      });
      process.send!(question);
    });
  }

  lease(clientId: string, windowSeconds: number, limit: number, want: number): Promise<Lease> {
    const id = (this.#nextId += 1);
    return this.#ask({ tessera: 'quota-lease', id, clientId, windowSeconds, limit, want });
  }

  count(clientId: string, windowSeconds: number): Promise<WindowCount> {
    const id = (this.#nextId += 1);
    return this.#ask({ tessera: 'quota-count', id, clientId, windowSeconds });
  }

  giveBack(clientId: string, windowSeconds: number, windowStart: number, count: number): void {
    if (process.connected)
      process.send!({ tessera: 'quota-give-back', clientId, windowSeconds, windowStart, count });
  }
}

/** In a worker: the counter that asks the primary (undefined outside `serve --workers N`). */
export function quotaCounterOfPrimary(): QuotaCounter | undefined {
  if (!cluster.isWorker || !process.send) return undefined;
  return new PrimaryQuotaCounter();
}

/** In the primary: answer every worker's leases from `counter`. */
export function answerQuotaLeasesForWorkers(counter: QuotaCounter): void {
  cluster.on('message', (worker, message: Question | undefined) => {
    if (message?.tessera === 'quota-give-back') {
      counter.giveBack(message.clientId, message.windowSeconds, message.windowStart, message.count);
      return;
    }
    if (message?.tessera !== 'quota-lease' && message?.tessera !== 'quota-count') return;
    const asked =
      message.tessera === 'quota-lease'
        ? counter.lease(message.clientId, message.windowSeconds, message.limit, message.want)
        : counter.count(message.clientId, message.windowSeconds);
    asked.then(
      (result) => {
        const answer: Answer = { tessera: 'quota-answer', id: message.id, result };
        if (worker.isConnected()) worker.send(answer);
      },
      (error: unknown) => {
        const answer: Answer = { tessera: 'quota-answer', id: message.id, error: String(error) };
        if (worker.isConnected()) worker.send(answer);
      },
    );
  });
}
