import {
  createServer,
  type IncomingMessage,
  type RequestListener,
  type Server,
  type ServerResponse,
} from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { FastifyServerOptions } from 'fastify';
import type { ServerConfig } from '../config.js';
import { httpsOptions } from '../tls/https-options.js';

/** Takes a request and answers it (true), or leaves it untouched for Fastify (false). */
export type RequestInterceptor = (request: IncomingMessage, response: ServerResponse) => boolean;

/**
 * Fastify's `serverFactory`: an HTTP or, with `--tls-cert`/`--tls-key`, HTTPS server that
 * offers every request to `intercept` first and hands the rest to Fastify. Fastify applies its
 * timeouts only to servers it creates itself, so they are set here as it would.
 */
export function serverFactory(
  config: ServerConfig,
  intercept: RequestInterceptor,
): (handler: RequestListener, options: FastifyServerOptions) => Server {
  return (handler, options) => {
    const listener: RequestListener = (request, response) => {
      if (!intercept(request, response)) handler(request, response);
    };
    const tls = httpsOptions(config);
    const server = tls
      ? (createHttpsServer(tls, listener) as unknown as Server)
      : createServer(listener);
    if (options.keepAliveTimeout !== undefined) server.keepAliveTimeout = options.keepAliveTimeout;
    if (options.requestTimeout !== undefined) server.requestTimeout = options.requestTimeout;
    if (options.connectionTimeout !== undefined) server.setTimeout(options.connectionTimeout);
    if (options.maxRequestsPerSocket) server.maxRequestsPerSocket = options.maxRequestsPerSocket;
    return server;
  };
}
