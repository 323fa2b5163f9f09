import { InvalidOptionError } from './errors.js';
import type { TokenClientOptions } from './options.js';

const authMethods = new Set(['client_secret_basic', 'client_secret_post']);

/** Fails at start-up with a message naming the option, instead of at the first token call. */
export function validateOptions(options: TokenClientOptions): void {
  if (typeof options !== 'object' || options === null)
    throw new InvalidOptionError('options', 'must be an object');
  if (typeof options.clientId !== 'string' || options.clientId === '')
    throw new InvalidOptionError('clientId', 'must be a non-empty string');
  if (typeof options.clientSecret !== 'string' || options.clientSecret === '') {
    throw new InvalidOptionError('clientSecret', 'must be a non-empty string');
  }
  if (options.tokenEndpoint === undefined && options.issuer === undefined) {
    throw new InvalidOptionError('tokenEndpoint', 'give tokenEndpoint or issuer');
  }
  for (const name of ['tokenEndpoint', 'issuer', 'revocationEndpoint'] as const) {
    const value = options[name];
    if (value !== undefined && (typeof value !== 'string' || !URL.canParse(value)))
      throw new InvalidOptionError(name, 'must be an absolute URL');
  }
  if (options.authMethod !== undefined && !authMethods.has(options.authMethod)) {
    throw new InvalidOptionError('authMethod', 'must be client_secret_basic or client_secret_post');
  }
  const numbers: [string, unknown][] = [
    ['refreshSkewSeconds', options.refreshSkewSeconds],
    ['refreshJitterSeconds', options.refreshJitterSeconds],
    ['defaultExpiresInSeconds', options.defaultExpiresInSeconds],
    ['timeoutMs', options.timeoutMs],
    ['retry.maxRetries', options.retry?.maxRetries],
    ['retry.baseDelayMs', options.retry?.baseDelayMs],
    ['retry.maxDelayMs', options.retry?.maxDelayMs],
    ['lock.ttlMs', options.lock?.ttlMs],
    ['lock.pollIntervalMs', options.lock?.pollIntervalMs],
  ];
  if (options.negativeCache !== false && options.negativeCache !== undefined) {
    numbers.push(
      ['negativeCache.afterFailures', options.negativeCache.afterFailures],
      ['negativeCache.seconds', options.negativeCache.seconds],
      ['negativeCache.maxSeconds', options.negativeCache.maxSeconds],
    );
  }
  for (const [name, value] of numbers) {
    if (
      value !== undefined &&
      (typeof value !== 'number' || !Number.isFinite(value) || value < 0)
    ) {
      throw new InvalidOptionError(name, 'must be a finite number ≥ 0');
    }
  }
}
