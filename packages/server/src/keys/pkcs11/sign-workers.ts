import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';
import type { Handle, Mechanism } from 'pkcs11js';

/**
 * The worker's code, plain CommonJS evaluated in place so it runs the same from `src/` (tsx)
 * and `dist/`. It loads the PKCS#11 library for its function pointers only: the library is
 * process-wide, and the main thread initialises it, logs in and opens the sessions. Each
 * worker signs on one session of its own, one call at a time, so C_SignInit and C_Sign (which
 * on a network HSM are round trips) never run on the event loop. Requests come in batches and
 * the answers to a batch go back in one message: one message each way per signature cost the
 * event loop about as much as the rest of a token request (README, "Keys in an HSM").
 */
const workerSource = `
const { parentPort, workerData } = require('node:worker_threads');
const pkcs11js = require(workerData.binding);
const lib = new pkcs11js.PKCS11();
lib.load(workerData.modulePath);
const out = Buffer.alloc(1024);
const view = (bytes) => Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length);
parentPort.on('message', (message) => {
  if (message.close) {
    parentPort.close();
    return;
  }
  const replies = [];
  for (const request of message.requests) {
    try {
      const session = view(request.session);
      lib.C_SignInit(session, request.mechanism, view(request.key));
      const signature = lib.C_Sign(session, view(request.data), out);
      replies.push({ id: request.id, signature: new Uint8Array(signature) });
    } catch (error) {
      replies.push({ id: request.id, error: String(error && error.message) });
    }
  }
  parentPort.postMessage(replies);
});
`;

interface Pending {
  resolve: (signature: Buffer) => void;
  reject: (error: Error) => void;
}

interface SignRequest {
  id: number;
  session: Handle;
  key: Handle;
  mechanism: Mechanism;
  data: Buffer;
}

type SignReply = { id: number; signature: Uint8Array } | { id: number; error: string };

/**
 * Requests in one message at most: under load the worker answers a batch at once, so this
 * bounds what a batch's first request waits for the others (~0.5 ms per RSA-2048 signature in
 * SoftHSM2).
 */
export const maxSignBatch = 8;

/** One worker thread and the requests it has not answered yet. */
class SignWorker {
  readonly #worker: Worker;
  readonly #pending = new Map<number, Pending>();
  /** Requests not posted yet: they go in one message once this event-loop turn is done. */
  #queued: SignRequest[] = [];
  #nextId = 0;
  #posted = 0;
  #dead: Error | null = null;

  constructor(binding: string, modulePath: string) {
    this.#worker = new Worker(workerSource, { eval: true, workerData: { binding, modulePath } });
    this.#worker.unref();
    this.#worker.on('message', (replies: SignReply[]) => {
      for (const reply of replies) {
        const waiting = this.#pending.get(reply.id);
        if (!waiting) continue;
        this.#pending.delete(reply.id);
        // The message names the CKR_ code first, as the binding's own errors do.
        if ('error' in reply) waiting.reject(new Error(reply.error));
        else
          waiting.resolve(
            Buffer.from(reply.signature.buffer, reply.signature.byteOffset, reply.signature.length),
          );
      }
      if (this.#pending.size === 0) this.#worker.unref();
    });
    const stop = (error: Error) => {
      this.#dead = error;
      this.#queued = [];
      for (const waiting of this.#pending.values()) waiting.reject(error);
      this.#pending.clear();
    };
    this.#worker.on('error', stop);
    this.#worker.on('exit', (code) => stop(new Error(`PKCS#11 signing worker exited (${code})`)));
  }

  get busy(): number {
    return this.#pending.size;
  }

  get dead(): boolean {
    return this.#dead !== null;
  }

  /** Messages with requests posted to the worker so far. */
  get posted(): number {
    return this.#posted;
  }

  sign(session: Handle, key: Handle, mechanism: Mechanism, data: Buffer): Promise<Buffer> {
    if (this.#dead) return Promise.reject(this.#dead);
    const id = this.#nextId++;
    if (this.#pending.size === 0) this.#worker.ref();
    if (this.#queued.length === 0) setImmediate(() => this.#post());
    return new Promise((resolve, reject) => {
      this.#pending.set(id, { resolve, reject });
      this.#queued.push({ id, session, key, mechanism, data });
    });
  }

  #post(): void {
    const queued = this.#queued;
    this.#queued = [];
    for (let start = 0; start < queued.length; start += maxSignBatch) {
      this.#worker.postMessage({ requests: queued.slice(start, start + maxSignBatch) });
      this.#posted++;
    }
  }

  async close(): Promise<void> {
    if (this.#dead) return;
    this.#worker.ref();
    this.#worker.postMessage({ close: true });
    await new Promise((resolve) => this.#worker.once('exit', resolve));
  }
}

/**
 * A pool of signing worker threads, worker `i` signing on session `i`. A request goes to the
 * worker with the fewest requests waiting; a worker that died is replaced.
 */
export class SignWorkers {
  readonly #workers: SignWorker[];
  readonly #binding: string;

  constructor(
    readonly modulePath: string,
    size: number,
  ) {
    this.#binding = createRequire(import.meta.url).resolve('pkcs11js');
    this.#workers = Array.from({ length: size }, () => new SignWorker(this.#binding, modulePath));
  }

  get size(): number {
    return this.#workers.length;
  }

  /** Messages with requests posted so far, over every worker (one carries up to maxSignBatch). */
  get posted(): number {
    return this.#workers.reduce((sum, worker) => sum + worker.posted, 0);
  }

  /** Requests sent and not answered yet, over every worker. */
  get busy(): number {
    return this.#workers.reduce((sum, worker) => sum + worker.busy, 0);
  }

  sign(
    sessions: readonly Handle[],
    key: Handle,
    mechanism: Mechanism,
    data: Buffer,
  ): Promise<Buffer> {
    let index = 0;
    for (let i = 1; i < this.#workers.length; i++)
      if (this.#workers[i]!.busy < this.#workers[index]!.busy) index = i;
    if (this.#workers[index]!.dead)
      this.#workers[index] = new SignWorker(this.#binding, this.modulePath);
    return this.#workers[index]!.sign(sessions[index]!, key, mechanism, data);
  }

  async close(): Promise<void> {
    await Promise.all(this.#workers.map((worker) => worker.close()));
  }
}
