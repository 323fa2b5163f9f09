import type { ServerConfig } from '../config.js';
import { mediaTypes, type BodyType } from '../http/parse-params.js';
import {
  error,
  presetErrors,
  type Endpoint,
  type JsonSchema,
  type ResponseDoc,
} from './endpoint.js';
import { sharedSchemas } from './schemas.js';

export const openApiPath = '/openapi.json';
const allBodyTypes = Object.keys(mediaTypes) as BodyType[];
const adminScope = 'tessera:admin';

/** OpenAPI's path syntax (`{id}`) for a Fastify path (`:id`). */
export const openApiPathOf = (path: string) => path.replace(/:(\w+)/g, '{$1}');

/** RFC 6749 §2.3: the client authentication methods an endpoint's caller may use. */
function clientSecurity(endpoint: Endpoint): Array<Record<string, string[]>> {
  const methods: readonly string[] | undefined = endpoint.preset?.authMethods;
  const security: Array<Record<string, string[]>> = [];
  if (!methods || methods.includes('client_secret_basic')) security.push({ clientSecretBasic: [] });
  if (!methods) security.push({ mutualTLS: [] });
  // client_secret_post and private_key_jwt carry their credentials in the body: no scheme
  // describes that, so it is the empty requirement, and the body schema names the fields.
  if (!methods || methods.some((method) => method !== 'client_secret_basic')) security.push({});
  return security;
}

function content(type: string, schema: JsonSchema | undefined) {
  return { [type]: schema ? { schema } : {} };
}

/** Responses every endpoint of its kind has, from the way the table mounts it. */
function derivedResponses(endpoint: Endpoint): Record<number, ResponseDoc> {
  const derived: Record<number, ResponseDoc> = {};
  if (endpoint.caller === 'admin') {
    derived[400] = error('invalid_request: a malformed Authorization header or input');
    derived[401] = error('No or invalid access token (RFC 6750)');
    derived[403] = error(`The token lacks the ${adminScope} scope`);
  }
  if (endpoint.body === 'params') {
    Object.assign(
      derived,
      presetErrors(endpoint.preset, {
        400: 'invalid_request',
        405: 'Method not allowed',
        413: 'Body too large',
      }),
    );
  }
  if (endpoint.body !== undefined || endpoint.caller !== 'none') {
    Object.assign(derived, presetErrors(endpoint.preset, { 503: 'temporarily_unavailable' }));
  }
  return derived;
}

function operation(endpoint: Endpoint, path: string, index: number) {
  const parameters: object[] = [];
  for (const [, name] of path.matchAll(/:(\w+)/g))
    parameters.push({ name, in: 'path', required: true, schema: { type: 'string' } });
  const query = endpoint.request?.query?.properties as Record<string, JsonSchema> | undefined;
  for (const [name, schema] of Object.entries(query ?? {}))
    parameters.push({ name, in: 'query', required: false, schema });
  for (const [name, schema] of Object.entries(endpoint.request?.headers ?? {}))
    parameters.push({ name, in: 'header', required: false, schema });

  const body = endpoint.request?.body;
  const bodyTypes =
    endpoint.body === 'params' ? (endpoint.bodyTypes ?? allBodyTypes) : ['json' as const];
  const responses: Record<string, object> = {};
  for (const [status, doc] of Object.entries({
    ...derivedResponses(endpoint),
    ...endpoint.responses,
  })) {
    const type = doc.type ?? 'application/json';
    responses[status] = {
      description: doc.description,
      ...(doc.schema || doc.type ? { content: content(type, doc.schema) } : {}),
    };
  }
  return {
    operationId: index === 0 ? endpoint.name : `${endpoint.name}${index}`,
    summary: endpoint.summary,
    ...(endpoint.caller === 'client' ? { security: clientSecurity(endpoint) } : {}),
    ...(endpoint.caller === 'admin' ? { security: [{ adminToken: [adminScope] }] } : {}),
    ...(parameters.length > 0 ? { parameters } : {}),
    ...(body
      ? {
          requestBody: {
            required: endpoint.body === 'params',
            content: Object.assign({}, ...bodyTypes.map((type) => content(mediaTypes[type], body))),
          },
        }
      : {}),
    responses,
  };
}

/** The OpenAPI 3.1 document of every endpoint in the table, as it is mounted. */
export function openApiDocument(endpoints: readonly Endpoint[], issuer: string) {
  const paths: Record<string, Record<string, object>> = {};
  for (const endpoint of endpoints) {
    endpoint.paths.forEach((path, index) => {
      (paths[openApiPathOf(path)] ??= {})[endpoint.method.toLowerCase()] = operation(
        endpoint,
        path,
        index,
      );
    });
  }
  const tokenUrl = `${issuer}${endpoints.find((endpoint) => endpoint.name === 'token')?.paths[0]}`;
  return {
    openapi: '3.1.0',
    info: {
      title: 'Tessera',
      version: '0.1.0',
      description:
        'OAuth 2.0 client credentials authorization server (RFC 6749 §4.4, RFC 9068 access tokens).',
    },
    servers: [{ url: issuer }],
    paths,
    components: {
      securitySchemes: {
        clientSecretBasic: {
          type: 'http',
          scheme: 'basic',
          description: 'client_id:client_secret, each form-urlencoded (RFC 6749 §2.3.1)',
        },
        mutualTLS: {
          type: 'mutualTLS',
          description:
            'tls_client_auth and self_signed_tls_client_auth (RFC 8705), with client_id in the body',
        },
        adminToken: {
          type: 'oauth2',
          description: "Tessera's own access tokens (RFC 6750 Bearer)",
          flows: {
            clientCredentials: { tokenUrl, scopes: { [adminScope]: 'Manage clients and keys' } },
          },
        },
      },
      schemas: sharedSchemas,
    },
  };
}

export function openApiEndpoint(
  config: Pick<ServerConfig, 'issuer'>,
  table: () => readonly Endpoint[],
): Endpoint {
  return {
    name: 'openapi',
    method: 'GET',
    paths: [openApiPath],
    summary: 'This document',
    caller: 'none',
    responses: {
      200: {
        description: 'OpenAPI 3.1',
        schema: {
          type: 'object',
          properties: { openapi: { const: '3.1.0' } },
          required: ['openapi', 'paths'],
        },
      },
    },
    handle: () => ({ status: 200, body: openApiDocument(table(), config.issuer) }),
  };
}
