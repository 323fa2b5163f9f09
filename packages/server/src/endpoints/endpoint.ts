import type { FastifyRequest } from 'fastify';
import type { IncomingMessage } from 'node:http';
import type { AuthenticatedClient } from '../client-auth/authenticate-client.js';
import type { AdminCaller, AdminRole } from './admin/admin-roles.js';
import type { BodyType, Params } from '../http/parse-params.js';
import type { EndpointKind } from '../metrics/http-metrics.js';
import type { Preset } from '../presets/preset.js';

/** A JSON Schema (draft 2020-12, as OpenAPI 3.1 uses it). */
export type JsonSchema = Record<string, unknown>;

/** What a handler answers; the host (Fastify or the token listener) writes it. */
export interface Answer {
  status: number;
  headers?: Readonly<Record<string, string>> | undefined;
  body?: unknown;
  /** Whose token was issued (metrics), when the handler knows. */
  clientId?: string | undefined;
  /** `Set-Cookie` values (the console's session, issue 20). */
  cookies?: readonly string[];
  /** An admin change to log (`action`, `target`, …) once it is done. */
  change?: Record<string, unknown>;
}

/** One request as a handler sees it, whichever host received it. */
export interface EndpointRequest {
  readonly raw: IncomingMessage;
  /** The parsed parameters of a `body: 'params'` endpoint. */
  params: Params | undefined;
  /** The parsed JSON body of any other endpoint. */
  readonly body?: unknown;
  readonly query?: Record<string, unknown> | undefined;
  /** Path parameters (`:id`). */
  readonly path?: Record<string, string> | undefined;
  /** The admin caller (machine client or person), set by the one admin hook before the handler runs. */
  readonly caller?: AdminCaller | undefined;
  /** Fastify's request, for the client-auth helpers that read one. */
  readonly host?: FastifyRequest | undefined;
}

/** A response: its description, and its body's JSON Schema and media type (JSON by default). */
export interface ResponseDoc {
  description: string;
  schema?: JsonSchema | undefined;
  type?: string;
}

/**
 * One HTTP endpoint, declared once: the Fastify routes and their 405 twins, the token
 * listener, the metrics kinds, admin authentication and /openapi.json all come from this.
 */
export interface Endpoint {
  method: 'GET' | 'POST' | 'PATCH' | 'DELETE';
  /** Fastify path syntax (`/admin/v1/clients/:id`). */
  paths: readonly string[];
  summary: string;
  /** Who may call it: an OAuth client, a holder of an admin token, anyone. */
  caller: 'client' | 'admin' | 'none';
  /** The admin role a `caller: 'admin'` endpoint needs (endpoints/admin/admin-roles.ts). */
  role?: AdminRole;
  /**
   * Issue 21: whose role `role` is checked against. Absent: the deployment's (the default
   * tenant's routes, operators, activity, tenant management); `path`: the route's `{tenant}`
   * (a person's role on that tenant counts besides a deployment-wide one); `any`: a role on any
   * tenant will do (the handler shows only what the caller's tenants allow).
   */
  tenantScope?: 'path' | 'any';
  /**
   * `params`: an OAuth body (form, multipart or JSON, of `bodyTypes`, all when absent) parsed
   * into one flat map that refuses duplicates; such paths answer other methods 405.
   */
  body?: 'params';
  bodyTypes?: readonly BodyType[] | undefined;
  /** The provider dialect whose error shape (and auth methods) the endpoint uses. */
  preset?: Preset | undefined;
  /** The metrics series the endpoint's requests are counted in. */
  kind?: EndpointKind;
  request?: { query?: JsonSchema; body?: JsonSchema; headers?: Record<string, JsonSchema> };
  /** Each status's answer; a string is an error response (RFC 6749 §5.2, or the preset's). */
  responses: Readonly<Record<number, ResponseDoc | string>>;
  handle(request: EndpointRequest): Answer | Promise<Answer>;
}

/** Client authentication at the endpoints other than token (client-auth/authenticate-request.ts). */
export type AuthenticateClient = (
  request: EndpointRequest,
  params: Params,
  options?: { bodyOnly?: boolean },
) => Promise<AuthenticatedClient>;

export const str: JsonSchema = { type: 'string' };
export const int: JsonSchema = { type: 'integer' };
export const bool: JsonSchema = { type: 'boolean' };
export const dateTime: JsonSchema = { type: 'string', format: 'date-time' };
export const nullable = (schema: JsonSchema): JsonSchema => ({
  ...schema,
  type: [schema.type, 'null'],
});
export const list = (items: JsonSchema): JsonSchema => ({ type: 'array', items });
export const stringOrList: JsonSchema = { oneOf: [str, list(str)] };
/** `$ref` to a shared schema (endpoints/schemas.ts). */
export const ref = (name: string): JsonSchema => ({ $ref: `#/components/schemas/${name}` });

/** An object schema: the properties of `required`, and those of `optional`. */
export function object(
  required: Record<string, JsonSchema>,
  optional: Record<string, JsonSchema> = {},
) {
  const names = Object.keys(required);
  return {
    type: 'object',
    properties: { ...required, ...optional },
    ...(names.length > 0 ? { required: names } : {}),
  };
}

/** A JSON response. */
export const json = (description: string, schema?: JsonSchema): ResponseDoc => ({
  description,
  schema,
});

/** The token and token-type-hint parameters of RFC 7009 §2.1 and RFC 7662 §2.1. */
export const tokenParams = object({ token: str }, { token_type_hint: str });
