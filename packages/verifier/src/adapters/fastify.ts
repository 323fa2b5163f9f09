import type { ErrorResponse } from '../errors.js';
import type { VerifiedToken, Verifier, VerifyCallOptions } from '../verifier.js';
import {
  senderEvidenceOf,
  type IncomingLike,
  type SenderEvidenceOptions,
} from './sender-evidence.js';

/** The part of a Fastify request the hook uses; typed structurally so fastify is not a dependency. */
export interface FastifyRequestLike {
  readonly headers: Record<string, string | string[] | undefined>;
  /** The Node request: its URL, method and socket carry the sender evidence. */
  readonly raw?: IncomingLike;
  /** Set by the hook once the token verified. */
  tessera?: VerifiedToken | null;
}

/** The part of a Fastify reply the hook uses. */
export interface FastifyReplyLike {
  code(statusCode: number): FastifyReplyLike;
  header(name: string, value: string): FastifyReplyLike;
  send(payload?: string): FastifyReplyLike;
}

/** The part of a Fastify instance the plugin uses. */
export interface FastifyInstanceLike {
  decorateRequest(property: string, value: null): unknown;
  hasRequestDecorator(property: string): boolean;
  addHook(
    name: 'onRequest',
    hook: (request: FastifyRequestLike, reply: FastifyReplyLike) => Promise<unknown>,
  ): unknown;
}

/** A Fastify `onRequest` hook. */
export type FastifyHook = (
  request: FastifyRequestLike,
  reply: FastifyReplyLike,
) => Promise<FastifyReplyLike | undefined>;

/** Options of {@link tesseraHook} and {@link tesseraFastify}. */
export interface FastifyHookOptions extends VerifyCallOptions, SenderEvidenceOptions {}

/**
 * A Fastify `onRequest` hook that verifies the bearer token and puts the result on
 * `request.tessera`, or answers with the verifier's error response (RFC 6750 by default).
 * Certificate-bound and DPoP-bound tokens work as they are: the connection's client
 * certificate and the request's DPoP proof are passed on (`clientCertificate` or `dpop` in
 * the options take precedence).
 * Use it per route: `app.get('/orders', { onRequest: tesseraHook(verifier, { requiredScopes: ['orders:read'] }) }, …)`.
 */
export function tesseraHook(verifier: Verifier, options: FastifyHookOptions = {}): FastifyHook {
  const { publicOrigin, ...callOptions } = options;
  const evidenceOptions = publicOrigin === undefined ? {} : { publicOrigin };
  return async function tesseraOnRequest(request, reply) {
    try {
      const evidence = request.raw ? senderEvidenceOf(request.raw, evidenceOptions) : {};
      request.tessera = await verifier.verifyAuthorization(request.headers.authorization, {
        ...evidence,
        ...callOptions,
      });
      return undefined;
    } catch (error) {
      return sendError(reply, verifier.errorResponse(error));
    }
  };
}

/** A Fastify plugin function, marked like `fastify-plugin` marks them. */
export type FastifyPluginLike = ((
  instance: FastifyInstanceLike,
  options: unknown,
) => Promise<void>) & {
  readonly [key: symbol]: unknown;
};

/**
 * A Fastify plugin protecting every route of the context it is registered in: it decorates
 * `request.tessera` and adds {@link tesseraHook}. Like a `fastify-plugin` plugin it does not
 * create its own encapsulation context, so register it inside the context to protect:
 *
 * @example
 * ```ts
 * app.register(async (api) => {
 *   await api.register(tesseraFastify(verifier, { requiredScopes: ['orders:read'] }))
 *   api.get('/orders', async (request) => request.tessera!.claims.client_id)
 * })
 * ```
 */
export function tesseraFastify(
  verifier: Verifier,
  options?: FastifyHookOptions,
): FastifyPluginLike {
  const plugin = async (instance: FastifyInstanceLike): Promise<void> => {
    if (!instance.hasRequestDecorator('tessera')) instance.decorateRequest('tessera', null);
    instance.addHook('onRequest', tesseraHook(verifier, options));
  };
  return Object.assign(plugin, {
    [Symbol.for('skip-override')]: true,
    [Symbol.for('fastify.display-name')]: '@tessera/verifier',
  });
}

function sendError(reply: FastifyReplyLike, response: ErrorResponse): FastifyReplyLike {
  reply.code(response.status);
  for (const [name, value] of Object.entries(response.headers)) reply.header(name, value);
  return reply.send(response.body === undefined ? undefined : JSON.stringify(response.body));
}
