export * from './errors.js';
export * from './scope.js';
export * from './wire.js';
export * from './basic-auth.js';
