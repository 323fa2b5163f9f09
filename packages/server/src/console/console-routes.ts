import { readFileSync } from 'node:fs';
import type { FastifyInstance, FastifyReply } from 'fastify';

/** The console's files, beside `src/` and `dist/` in the package (two levels up from here). */
const assetDirectory = new URL('../../console/', import.meta.url);

const assets: Readonly<Record<string, string>> = {
  'index.html': 'text/html; charset=utf-8',
  'console.css': 'text/css; charset=utf-8',
  'console.js': 'text/javascript; charset=utf-8',
  'favicon.svg': 'image/svg+xml',
};

/** Scripts and styles from this origin only: no inline code, no framing, no other hosts. */
export const consoleSecurityHeaders: Readonly<Record<string, string>> = {
  'content-security-policy':
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; " +
    "connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; " +
    "frame-ancestors 'none'",
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'x-frame-options': 'DENY',
  'cache-control': 'no-cache',
};

/**
 * Serves the admin console: a few static files read once at start-up. The page signs in
 * with an admin client's credentials at the token endpoint and calls the admin API with the
 * token it gets; the server holds no console session.
 */
export function registerConsole(app: FastifyInstance): void {
  const files = new Map<string, Buffer>();
  for (const name of Object.keys(assets)) {
    try {
      files.set(name, readFileSync(new URL(name, assetDirectory)));
    } catch {
      // Missing files answer 404 below; the API keeps working without the console.
    }
  }
  const send = (reply: FastifyReply, name: string) => {
    const file = files.get(name);
    const type = assets[name];
    if (!file || !type) {
      return reply.code(404).send({
        error: 'not_found',
        error_description: 'No such console file',
      });
    }
    return reply.headers(consoleSecurityHeaders).type(type).send(file);
  };

  app.get('/console', async (_request, reply) => send(reply, 'index.html'));
  app.get<{ Params: { asset: string } }>('/console/:asset', async (request, reply) =>
    send(reply, request.params.asset === '' ? 'index.html' : request.params.asset),
  );
}
