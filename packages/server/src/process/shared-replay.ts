import cluster from 'node:cluster';
import type { Logger } from 'pino';
import type { ReplayGuards } from '../context.js';
import { ReplayCache, type ReplayGuard, type ReplayOutcome } from '@tessera/protocol';
import { sharedReplayGuards } from '../shared-state/shared-replay-guard.js';
import type { SharedState } from '../shared-state/shared-state.js';

/**
 * One-time `jti`s (DPoP proofs, client assertions) remembered across the workers of
 * `serve --workers N`: a proof or assertion used at one worker is refused at every other,
 * not only at the one that saw it. A worker checks its own cache first, then asks the primary,
 * which keeps one cache for all; that round trip is paid only by requests that carry a DPoP
 * proof or an assertion. With a shared state (PostgreSQL or Redis, shared-state/), the
 * primary also consults it, so instances on several machines remember together.
 */
interface Question {
  tessera: 'jti-check';
  guard: keyof ReplayGuards;
  id: number;
  key: string;
  expiresAt: number;
}

interface Answer {
  tessera: 'jti-answer';
  guard: keyof ReplayGuards;
  id: number;
  outcome: ReplayOutcome;
}

/**
 * How long a worker waits for the primary before trusting its own cache alone: longer than
 * the primary waits for the shared state, so the primary's answer normally arrives.
 */
const answerTimeoutMs = 3_000;

class WorkerReplayGuard implements ReplayGuard {
  readonly #local: ReplayCache;
  readonly #waiting = new Map<number, (outcome: ReplayOutcome) => void>();
  #nextId = 0;

  constructor(
    private readonly guard: keyof ReplayGuards,
    nowSeconds: () => number,
    private readonly logger: Logger,
  ) {
    this.#local = new ReplayCache(100_000, nowSeconds);
    process.on('message', (message: Partial<Answer> | undefined) => {
      if (message?.tessera !== 'jti-answer' || message.guard !== guard) return;
      const resolve = this.#waiting.get(message.id!);
      this.#waiting.delete(message.id!);
      resolve?.(message.outcome!);
    });
  }

  async use(key: string, expiresAt: number): Promise<ReplayOutcome> {
    const local = this.#local.use(key, expiresAt);
    if (local !== 'fresh' || !process.connected) return local;
    const id = (this.#nextId += 1);
    const question: Question = { tessera: 'jti-check', guard: this.guard, id, key, expiresAt };
    return new Promise<ReplayOutcome>((resolve) => {
      const timer = setTimeout(() => {
        if (!this.#waiting.delete(id)) return;
        this.logger.warn({ guard: this.guard }, 'primary did not answer a jti check in time');
        resolve(local);
      }, answerTimeoutMs);
      timer.unref();
      this.#waiting.set(id, (outcome) => {
        clearTimeout(timer);
        resolve(outcome);
      });
      process.send!(question);
    });
  }
}

/** In a worker: guards that consult the primary (undefined outside `serve --workers N`). */
export function replayGuardsSharedWithPrimary(
  nowSeconds: () => number,
  logger: Logger,
): ReplayGuards | undefined {
  if (!cluster.isWorker || !process.send) return undefined;
  return {
    dpop: new WorkerReplayGuard('dpop', nowSeconds, logger),
    assertions: new WorkerReplayGuard('assertions', nowSeconds, logger),
  };
}

/** In the primary: answer every worker's jti checks from one cache per kind (and the shared state). */
export function answerReplayChecksForWorkers(
  nowSeconds: () => number = () => Math.floor(Date.now() / 1000),
  shared?: SharedState,
  logger?: Logger,
): void {
  const guards = sharedReplayGuards(
    {
      dpop: new ReplayCache(200_000, nowSeconds),
      assertions: new ReplayCache(200_000, nowSeconds),
    },
    shared,
    logger,
  );
  cluster.on('message', (worker, message: Partial<Question> | undefined) => {
    if (message?.tessera !== 'jti-check') return;
    const guard = guards[message.guard!];
    if (!guard) return;
    void Promise.resolve(guard.use(message.key!, message.expiresAt!)).then((outcome) => {
      const answer: Answer = {
        tessera: 'jti-answer',
        guard: message.guard!,
        id: message.id!,
        outcome,
      };
      if (worker.isConnected()) worker.send(answer);
    });
  });
}
