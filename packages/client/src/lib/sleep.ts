import { ClientClosedError } from '../errors.js';

/** Resolves after `ms`, or rejects with {@link ClientClosedError} as soon as `signal` aborts. */
export function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) return reject(new ClientClosedError());
    const onAbort = (): void => {
      clearTimeout(timer);
      reject(new ClientClosedError());
    };
    const timer = setTimeout(() => {
      signal.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal.addEventListener('abort', onAbort, { once: true });
  });
}
