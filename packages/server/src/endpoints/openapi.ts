import type { ServerConfig } from '../config.js';
import { mediaTypes, type BodyType } from '../http/parse-params.js';
import { json, object, presetErrors, str } from './endpoint.js';
import type { Endpoint, JsonSchema, ResponseDoc } from './endpoint.js';
import { tokenPath } from './discovery.js';
import { sharedSchemas } from './schemas.js';

const allBodyTypes = Object.keys(mediaTypes) as BodyType[];

/** OpenAPI's path syntax (`{id}`) for a Fastify path (`:id`). */
export const openApiPathOf = (path: string) => path.replace(/:(\w+)/g, '{$1}');

/** RFC 6749 §2.3: the client authentication an endpoint takes, as security requirements. */
function clientSecurity({ preset }: Endpoint): Array<Record<string, string[]>> {
  const methods: readonly string[] = preset?.authMethods ?? ['client_secret_basic', 'tls'];
  return [
    ...(methods.includes('client_secret_basic') ? [{ clientSecretBasic: [] }] : []),
    ...(preset ? [] : [{ mutualTLS: [] }]),
    // client_secret_post and private_key_jwt carry credentials in the body, which no security
    // scheme describes: the empty requirement, and the body schema names the fields.
    ...(methods.some((method) => method !== 'client_secret_basic') ? [{}] : []),
  ];
}

/** The responses that come from how the table mounts an endpoint, not from its handler. */
function mountedResponses(endpoint: Endpoint): Record<number, ResponseDoc> {
  const oauth = endpoint.body === 'params';
  return presetErrors(endpoint.preset, <Record<number, string>>{
    ...(endpoint.caller === 'admin'
      ? {
          400: 'invalid_request: a malformed Authorization header or input',
          401: 'No or invalid access token (RFC 6750)',
          403: 'The token lacks the tessera:admin scope',
        }
      : {}),
    ...(oauth ? { 400: 'invalid_request', 405: 'Method not allowed', 413: 'Body too large' } : {}),
    ...(oauth || endpoint.caller !== 'none' ? { 503: 'temporarily_unavailable' } : {}),
  });
}

function operation(endpoint: Endpoint, path: string) {
  const { request, caller } = endpoint;
  const parameter =
    (where: string, required: boolean) =>
    ([name, schema]: [string, unknown]) => ({ name, in: where, required, schema });
  const parameters = [
    ...[...path.matchAll(/:(\w+)/g)].map(([, name]) => parameter('path', true)([name!, str])),
    ...Object.entries((request?.query?.properties ?? {}) as JsonSchema).map(
      parameter('query', false),
    ),
    ...Object.entries(request?.headers ?? {}).map(parameter('header', false)),
  ];
  const bodyTypes =
    endpoint.body === 'params' ? (endpoint.bodyTypes ?? allBodyTypes) : ['json' as const];
  const content = (type: string, schema?: JsonSchema) => ({ [type]: schema ? { schema } : {} });
  const responses = Object.entries({ ...mountedResponses(endpoint), ...endpoint.responses }).map(
    ([status, doc]) => [
      status,
      {
        description: doc.description,
        ...(doc.schema || doc.type
          ? { content: content(doc.type ?? 'application/json', doc.schema) }
          : {}),
      },
    ],
  );
  return {
    operationId: `${endpoint.method.toLowerCase()}${path.replace(/\W+(\w)?/g, (_, c = '') => c.toUpperCase())}`,
    summary: endpoint.summary,
    ...(caller === 'client' ? { security: clientSecurity(endpoint) } : {}),
    ...(caller === 'admin' ? { security: [{ adminToken: ['tessera:admin'] }] } : {}),
    ...(parameters.length > 0 ? { parameters } : {}),
    ...(request?.body
      ? {
          requestBody: {
            required: endpoint.body === 'params',
            content: Object.assign(
              {},
              ...bodyTypes.map((type) => content(mediaTypes[type], request.body)),
            ),
          },
        }
      : {}),
    responses: Object.fromEntries(responses),
  };
}

/** The OpenAPI 3.1 document of every endpoint in the table, as it is mounted. */
export function openApiDocument(endpoints: readonly Endpoint[], issuer: string) {
  const paths: Record<string, Record<string, object>> = {};
  for (const endpoint of endpoints) {
    for (const path of endpoint.paths)
      (paths[openApiPathOf(path)] ??= {})[endpoint.method.toLowerCase()] = operation(
        endpoint,
        path,
      );
  }
  const tokenUrl = `${issuer}${tokenPath}`;
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
            'tls_client_auth, self_signed_tls_client_auth (RFC 8705): client_id in the body',
        },
        adminToken: {
          type: 'oauth2',
          flows: {
            clientCredentials: { tokenUrl, scopes: { 'tessera:admin': 'Manage clients and keys' } },
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
    method: 'GET',
    paths: ['/openapi.json'],
    summary: 'This document',
    caller: 'none',
    responses: {
      200: json('OpenAPI 3.1', object({ openapi: { const: '3.1.0' }, paths: { type: 'object' } })),
    },
    handle: () => ({ status: 200, body: openApiDocument(table(), config.issuer) }),
  };
}
