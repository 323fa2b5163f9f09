import { InvalidOptionError } from './errors.js';
import { isCryptoKey, signingAlgs } from './lib/signing-key.js';
import type { TokenClientOptions } from './options.js';

const authMethods = new Set([
  'client_secret_basic',
  'client_secret_post',
  'private_key_jwt',
  'tls_client_auth',
  'self_signed_tls_client_auth',
]);
const secretMethods = new Set(['client_secret_basic', 'client_secret_post']);

/** Shape checks only, never echoing the key; whether WebCrypto accepts it shows at first use. */
function checkPrivateKey(option: string, key: unknown): void {
  if (typeof key !== 'object' || key === null)
    throw new InvalidOptionError(option, 'must be a private CryptoKey or a private JWK');
  if (isCryptoKey(key)) {
    if (key.type !== 'private') throw new InvalidOptionError(option, 'must be a private key');
  } else if (typeof (key as JsonWebKey).d !== 'string') {
    throw new InvalidOptionError(option, 'must be a private JWK (with "d")');
  }
}

function checkAlg(option: string, alg: unknown): void {
  if (alg !== undefined && !signingAlgs.includes(alg as never))
    throw new InvalidOptionError(option, `must be one of ${signingAlgs.join(', ')}`);
}

/** Fails at start-up with a message naming the option, instead of at the first token call. */
export function validateOptions(options: TokenClientOptions): void {
  if (typeof options !== 'object' || options === null)
    throw new InvalidOptionError('options', 'must be an object');
  if (typeof options.clientId !== 'string' || options.clientId === '')
    throw new InvalidOptionError('clientId', 'must be a non-empty string');
  const authMethod = options.authMethod ?? 'client_secret_basic';
  if (!authMethods.has(authMethod)) {
    throw new InvalidOptionError('authMethod', `must be one of ${[...authMethods].join(', ')}`);
  }
  if (secretMethods.has(authMethod)) {
    if (typeof options.clientSecret !== 'string' || options.clientSecret === '')
      throw new InvalidOptionError('clientSecret', 'must be a non-empty string');
  } else if (options.clientSecret !== undefined) {
    throw new InvalidOptionError('clientSecret', `is not used with ${authMethod}`);
  }
  if (authMethod === 'private_key_jwt') {
    checkPrivateKey('privateKey', options.privateKey);
    checkAlg('signingAlg', options.signingAlg);
    if (options.kid !== undefined && (typeof options.kid !== 'string' || options.kid === ''))
      throw new InvalidOptionError('kid', 'must be a non-empty string');
    const audience = options.assertionAudience;
    if (audience !== undefined && (typeof audience !== 'string' || audience === ''))
      throw new InvalidOptionError('assertionAudience', 'must be a non-empty string');
    if (audience === undefined && options.issuer === undefined)
      throw new InvalidOptionError(
        'assertionAudience',
        'private_key_jwt needs the issuer: give issuer or assertionAudience',
      );
  } else {
    for (const name of ['privateKey', 'kid', 'signingAlg', 'assertionAudience'] as const) {
      if (options[name] !== undefined)
        throw new InvalidOptionError(name, 'is only used with authMethod private_key_jwt');
    }
  }
  if (options.dpop !== undefined) {
    if (typeof options.dpop !== 'object' || options.dpop === null)
      throw new InvalidOptionError('dpop', 'must be { privateKey, publicKey? }');
    checkPrivateKey('dpop.privateKey', options.dpop.privateKey);
    const pub = options.dpop.publicKey;
    if (pub !== undefined && (typeof pub !== 'object' || pub === null))
      throw new InvalidOptionError('dpop.publicKey', 'must be a public CryptoKey or JWK');
    if (pub !== undefined && isCryptoKey(pub) && pub.type !== 'public')
      throw new InvalidOptionError('dpop.publicKey', 'must be a public key');
    checkAlg('dpop.signingAlg', options.dpop.signingAlg);
  }
  if (options.tokenEndpoint === undefined && options.issuer === undefined) {
    throw new InvalidOptionError('tokenEndpoint', 'give tokenEndpoint or issuer');
  }
  for (const name of ['tokenEndpoint', 'issuer', 'revocationEndpoint'] as const) {
    const value = options[name];
    if (value !== undefined && (typeof value !== 'string' || !URL.canParse(value)))
      throw new InvalidOptionError(name, 'must be an absolute URL');
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
