import { OAuthError } from '@tessera/protocol';
import type { FastifyInstance } from 'fastify';
import type { Preset } from '../presets/preset.js';

const otherMethods = ['GET', 'PUT', 'DELETE', 'PATCH', 'OPTIONS'] as const;

/** 405 with `Allow` for every method but the ones a path serves. */
export function registerMethodNotAllowed(
  app: FastifyInstance,
  path: string,
  allow: string,
  preset?: Preset,
): void {
  app.route({
    method: otherMethods.filter((method) => !allow.split(', ').includes(method)),
    url: path,
    config: { preset },
    handler: async function methodNotAllowed() {
      throw new OAuthError('invalid_request', `Method not allowed; use ${allow}`, {
        status: 405,
        headers: { allow },
      });
    },
  });
}
