import type { FastifyBaseLogger, FastifyRequest } from 'fastify';
import type { IncomingMessage } from 'node:http';
import type { AuthenticatedClient } from '../client-auth/authenticate-client.js';
import type { BodyType, Params } from '../http/parse-params.js';
import type { EndpointKind } from '../metrics/http-metrics.js';
import type { Preset } from '../presets/preset.js';

/** A JSON Schema (draft 2020-12, as OpenAPI 3.1 uses it). */
export type JsonSchema = Record<string, unknown>;

/** Who may call an endpoint: an OAuth client, an admin token holder, anyone. */
export type Caller = 'client' | 'admin' | 'none';

/** What a handler answers; the host (Fastify or the token listener) writes it. */
export interface Answer {
  status: number;
  headers?: Readonly<Record<string, string>> | undefined;
  body?: unknown;
  /** Whose token was issued (metrics), when the handler knows. */
  clientId?: string | undefined;
}

/** One request as a handler sees it, whichever host received it. */
export interface EndpointRequest {
  readonly raw: IncomingMessage;
  /** The parsed form/multipart/JSON parameters of an OAuth endpoint (`body: 'params'`). */
  params: Params | undefined;
  /** The parsed JSON body of a `body: 'json'` endpoint. */
  readonly body?: unknown;
  readonly query?: Record<string, unknown> | undefined;
  /** Path parameters (`:id`). */
  readonly path?: Record<string, string> | undefined;
  /** The admin caller's client_id, set by the one admin hook before the handler runs. */
  readonly actor?: string | undefined;
  readonly log?: FastifyBaseLogger | undefined;
  /** Fastify's request, for the client-auth helpers that read one. */
  readonly host?: FastifyRequest | undefined;
}

export interface ResponseDoc {
  description: string;
  /** JSON Schema of the body; none: no body (or one not described). */
  schema?: JsonSchema;
  /** Media type of the body; application/json when absent. */
  type?: string;
}

/**
 * One HTTP endpoint, declared once: the Fastify routes and their 405 twins, the token
 * listener, the metrics kinds, admin authentication and /openapi.json all come from this.
 */
export interface Endpoint {
  /** OpenAPI operationId. */
  name: string;
  method: 'GET' | 'POST' | 'PATCH' | 'DELETE';
  /** Fastify path syntax (`/admin/v1/clients/:id`). */
  paths: readonly string[];
  summary: string;
  caller: Caller;
  /**
   * `params`: an OAuth body (form, multipart or JSON) parsed into one flat parameter map that
   * refuses duplicates; such paths answer other methods 405. `json`: Fastify's JSON body.
   */
  body?: 'params' | 'json';
  /** Body types a `params` endpoint accepts; all when absent. */
  bodyTypes?: readonly BodyType[] | undefined;
  /** The provider dialect whose error shape (and auth methods) the endpoint uses. */
  preset?: Preset | undefined;
  /** The metrics series the endpoint's requests are counted in. */
  kind?: EndpointKind;
  request?: {
    query?: JsonSchema;
    body?: JsonSchema;
    headers?: Record<string, JsonSchema>;
  };
  responses: Readonly<Record<number, ResponseDoc>>;
  handle(request: EndpointRequest): Answer | Promise<Answer>;
}

/** `$ref` to a shared schema of the OpenAPI document. */
export const ref = (name: string): JsonSchema => ({ $ref: `#/components/schemas/${name}` });

/** An RFC 6749 §5.2 error response. */
export const error = (description: string): ResponseDoc => ({
  description,
  schema: ref('OAuthError'),
});

/** Error responses of an endpoint, in the preset's error shape when it has one. */
export function presetErrors(
  preset: Preset | undefined,
  descriptions: Readonly<Record<number, string>>,
): Record<number, ResponseDoc> {
  const schema = preset?.errorShape
    ? { type: 'object', description: `${preset.name}'s error shape` }
    : ref('OAuthError');
  const docs: Record<number, ResponseDoc> = {};
  for (const [status, description] of Object.entries(descriptions))
    docs[Number(status)] = { description, schema };
  return docs;
}

export const stringOrList: JsonSchema = {
  oneOf: [{ type: 'string' }, { type: 'array', items: { type: 'string' } }],
};

/** Client authentication at the endpoints other than token (client-auth/authenticate-request.ts). */
export type AuthenticateClient = (
  request: EndpointRequest,
  params: Params,
  options?: { bodyOnly?: boolean },
) => Promise<AuthenticatedClient>;

/** The token and token-type-hint parameters of RFC 7009 §2.1 and RFC 7662 §2.1. */
export const tokenParams: JsonSchema = {
  type: 'object',
  properties: { token: { type: 'string' }, token_type_hint: { type: 'string' } },
  required: ['token'],
};
