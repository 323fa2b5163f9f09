import { randomUUID } from 'node:crypto';
import type { IncomingMessage } from 'node:http';

const requestIdPattern = /^[A-Za-z0-9._-]{1,128}$/;
/** Where a request's id is kept once made, so every reader (logs, the token hook) sees one. */
const idOf = Symbol('tessera.requestId');

/** The caller's X-Request-Id when it is a plain token (it ends up in logs), else a fresh UUID. */
export function requestIdOf(request: IncomingMessage): string {
  const known = (request as { [idOf]?: string })[idOf];
  if (known !== undefined) return known;
  const given = request.headers['x-request-id'];
  const id = typeof given === 'string' && requestIdPattern.test(given) ? given : randomUUID();
  (request as { [idOf]?: string })[idOf] = id;
  return id;
}
