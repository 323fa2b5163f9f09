/**
 * `@tessera/server` as a library, for embedding the authorization server in another Node
 * process. Most deployments run the `tessera` command instead; these are what it is built on.
 *
 * @example
 * ```ts
 * import { loadConfig, startServer } from '@tessera/server';
 *
 * const server = await startServer(loadConfig(process.env, { port: 0 }));
 * console.log(`token endpoint: ${server.url}/oauth/token`);
 * // … later
 * await server.close();
 * ```
 *
 * For `inject()`-style tests or a custom listener, open the storage and build the Fastify app
 * without listening: `createContext({ config, ...(await openStorage(config)), logger })`, then
 * `buildServer(context, logger)`.
 *
 * @packageDocumentation
 */

export { ConfigError, loadConfig } from './config.js';
export type { ConfigOverrides, ServerConfig } from './config.js';
export { prepareStorage, startServer } from './start.js';
export type { RunningServer } from './start.js';
export { buildServer } from './server.js';
export { createContext } from './context.js';
export type { ContextOptions, ReplayGuards, TesseraContext } from './context.js';
export { openStorage } from './runtime.js';
export type { Storage } from './runtime.js';
