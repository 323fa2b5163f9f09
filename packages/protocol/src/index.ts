export * from './errors.js';
export * from './scope.js';
export * from './wire.js';
export * from './basic-auth.js';
export * from './base64url.js';
export * from './dpop.js';
export * from './replay-cache.js';
export * from './providers.js';
