export { createTokenClient, type TokenClient } from './token-client.js';
export type {
  AuthMethod,
  DpopOptions,
  SigningAlg,
  TokenClientOptions,
  TokenRequestOptions,
} from './options.js';
export {
  TokenClientError,
  TokenEndpointError,
  ResourceRejectedTokenError,
  DiscoveryError,
  RevocationError,
  ClientClosedError,
  InvalidOptionError,
  type TokenClientErrorCode,
  type TokenClientErrorDetails,
} from './errors.js';
export type { TokenClientEventMap, TokenClientEventName, TokenTarget } from './events.js';
export {
  rfcDialect,
  rfc6750TokenRejected,
  anyUnauthorized,
  type ProviderDialect,
} from './dialect.js';
export { scheduleToken, type TokenSchedule, type SchedulePolicy } from './refresh-schedule.js';
export { defaults } from './defaults.js';
export type { TokenStore, StoredToken, StoreLock } from './stores/store.js';
export { createMemoryStore } from './stores/memory.js';
export {
  createRedisStore,
  type RedisLike,
  type RedisStoreOptions,
  type RedisTokenStore,
} from './stores/redis.js';
export { presets, tesouroTokenRejected, type PresetOptions } from './presets/index.js';
