import type { Handle } from 'pkcs11js';

/**
 * PKCS#11 sessions, each running one operation at a time (a session holds the state between
 * C_SignInit and C_Sign), handed out first come, first served.
 */
export class SessionPool {
  readonly #free: Handle[];
  readonly #waiting: Array<{ resolve: (session: Handle) => void; reject: (error: Error) => void }> =
    [];
  #failed: (() => Error) | null = null;
  #busy = 0;

  constructor(sessions: Handle[]) {
    this.#free = [...sessions];
  }

  get busy(): number {
    return this.#busy;
  }

  acquire(): Promise<Handle> {
    if (this.#failed) return Promise.reject(this.#failed());
    const session = this.#free.pop();
    if (session) {
      this.#busy++;
      return Promise.resolve(session);
    }
    return new Promise((resolve, reject) => this.#waiting.push({ resolve, reject }));
  }

  release(session: Handle): void {
    const next = this.#failed ? undefined : this.#waiting.shift();
    if (next) next.resolve(session);
    else {
      this.#busy--;
      this.#free.push(session);
    }
  }

  /** The sessions are gone: waiting and later callers get `error()`. */
  fail(error: () => Error): void {
    this.#failed = error;
    for (const waiter of this.#waiting.splice(0)) waiter.reject(error());
  }

  /** Resolves when no session is busy, or after `timeoutMs`. */
  async drain(timeoutMs: number): Promise<void> {
    const until = Date.now() + timeoutMs;
    while (this.#busy > 0 && Date.now() < until) await new Promise((r) => setTimeout(r, 10));
  }
}
