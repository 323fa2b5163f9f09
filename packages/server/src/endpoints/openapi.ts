import type { ServerConfig } from '../config.js';
import { mediaTypes, type BodyType } from '../http/parse-params.js';
import { roleScopes, type AdminRole } from './admin/admin-roles.js';
import { json, object, ref, str } from './endpoint.js';
import type { Endpoint, JsonSchema, ResponseDoc } from './endpoint.js';
import { tokenPath } from './discovery.js';
import { sharedSchemas } from './schemas.js';
import { tenantNamePattern } from '../tenants/tenant-name.js';
import { issuerPathOf, wellKnownNames } from '../http/tenant-routes.js';

const allBodyTypes = Object.keys(mediaTypes) as BodyType[];

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

/** The error responses that come from how the table mounts an endpoint. */
function mountedErrors({ caller, body, role }: Endpoint): Record<number, string> {
  const errors: Record<number, string> = {};
  if (body || caller !== 'none') errors[503] = 'temporarily_unavailable';
  if (body) Object.assign(errors, { 400: 'invalid_request', 405: 'Not allowed', 413: 'Too large' });
  if (caller !== 'admin') return errors;
  return Object.assign(errors, {
    400: 'invalid_request: a malformed Authorization header or input',
    401: 'No or invalid access token (RFC 6750)',
    403: `The caller lacks the ${role} role (scope ${roleScopes[role!]}), or has no admin scope at all; or a console request failed the CSRF check`,
  });
}

/** A response as OAuth errors are written: RFC 6749 §5.2, or in the preset's own shape. */
function response({ preset }: Endpoint, doc: ResponseDoc | string): ResponseDoc {
  if (typeof doc !== 'string') return doc;
  const shape = preset?.errorShape && { type: 'object', description: `${preset.name}'s errors` };
  return json(doc, shape || { $ref: '#/components/schemas/OAuthError' });
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
  const responses: Record<string, object> = {};
  for (const [status, given] of Object.entries({
    ...mountedErrors(endpoint),
    ...endpoint.responses,
  })) {
    const { description, schema, type } = response(endpoint, given);
    const media = schema || type ? { content: content(type ?? 'application/json', schema) } : {};
    responses[status] = { description, ...media };
  }
  return {
    operationId: `${endpoint.method.toLowerCase()}${path.replace(/\W+(\w)?/g, (_, c = '') => c.toUpperCase())}`,
    summary: endpoint.summary,
    ...(caller === 'client' ? { security: clientSecurity(endpoint) } : {}),
    ...(caller === 'admin'
      ? {
          // The role, and the scope that grants it to a machine client; a person's session
          // cookie carries the role their identity provider's groups map to.
          'x-tessera-role': endpoint.role,
          security: [{ adminToken: [roleScopes[endpoint.role!]] }, { consoleSession: [] }],
        }
      : {}),
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
    responses,
  };
}

const roleDocs: Record<AdminRole, string> = {
  viewer: 'read clients, keys, activity and the audit trail, never a secret',
  operator: 'also create, edit, disable and enable clients and rotate their secrets',
  admin: 'also delete clients and rotate signing keys',
};

const adminScopeDocs: Record<string, string> = Object.fromEntries(
  (Object.entries(roleScopes) as Array<[AdminRole, string]>).map(([role, scope]) => [
    scope,
    `The ${role} role: ${roleDocs[role]}`,
  ]),
);

/** The `tenant` path parameter of the tenant twins (tenants/tenant-name.ts). */
const tenantParameter = {
  name: 'tenant',
  in: 'path',
  required: true,
  description:
    'A tenant of the deployment (issue 21); `default` is not one here: the default tenant is the server itself',
  schema: { type: 'string', pattern: tenantNamePattern.source },
};

/**
 * Issue 21: an endpoint's operation at a tenant's path. The one `/t/:tenant/*` route serves
 * these (and the RFC 8414 §3.1 discovery URLs, rewritten to it), so they are generated here
 * from the tenant's endpoints rather than mounted one by one; `x-tessera-tenant` marks them.
 */
function tenantOperation(endpoint: Endpoint, path: string) {
  const doc = operation(
    {
      ...endpoint,
      responses: { ...endpoint.responses, 404: json('No tenant of that name', ref('OAuthError')) },
    },
    path,
  );
  const parameters = (doc.parameters ?? []).map((parameter) =>
    parameter.name === 'tenant' && parameter.in === 'path' ? tenantParameter : parameter,
  );
  return {
    ...doc,
    summary: `${endpoint.summary}, of a tenant`,
    parameters,
    'x-tessera-tenant': true,
  };
}

/**
 * The OpenAPI 3.1 document of every endpoint in the table, as it is mounted, and of the
 * per-tenant twins of `tenantEndpoints` (the endpoints every tenant has): `/t/{tenant}/…`,
 * and each discovery path with the RFC 8414 §3.1 form `/.well-known/…/t/{tenant}`. A tenant
 * with its own preset also has that preset's paths; the twins are the server preset's.
 */
export function openApiDocument(
  endpoints: readonly Endpoint[],
  issuer: string,
  tenantEndpoints: readonly Endpoint[] = [],
) {
  const paths: Record<string, Record<string, unknown>> = {};
  const add = (path: string, method: string, doc: object) =>
    ((paths[path.replace(/:(\w+)/g, '{$1}')] ??= {})[method.toLowerCase()] = doc);
  for (const endpoint of endpoints) {
    for (const path of endpoint.paths) add(path, endpoint.method, operation(endpoint, path));
  }
  // Paths relative to the issuer (the `servers` URL): the inserted form sits at its origin.
  const issuerPath = issuerPathOf(issuer);
  for (const endpoint of tenantEndpoints) {
    for (const path of endpoint.paths) {
      add(`/t/:tenant${path}`, endpoint.method, tenantOperation(endpoint, `/t/:tenant${path}`));
      if (!(wellKnownNames as readonly string[]).includes(path)) continue;
      const inserted = `${path}${issuerPath}/t/:tenant`;
      add(inserted, endpoint.method, tenantOperation(endpoint, inserted));
      if (issuerPath === '') continue;
      const origin = [{ url: new URL(issuer).origin }];
      paths[inserted.replace(/:(\w+)/g, '{$1}')]!.servers = origin;
      // The server's own document at its RFC 8414 §3.1 URL (rewritten to the plain path).
      const own = `${path}${issuerPath}`;
      add(own, endpoint.method, {
        ...operation(endpoint, path),
        operationId: `get${own.replace(/\W+(\w)?/g, (_, c = '') => c.toUpperCase())}`,
        'x-tessera-alias': path,
      });
      paths[own]!.servers = origin;
    }
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
            clientCredentials: { tokenUrl, scopes: adminScopeDocs },
          },
        },
        consoleSession: {
          type: 'apiKey',
          in: 'cookie',
          name: 'tessera_session',
          description:
            'A person signed in to the console (OpenID Connect); state-changing requests also send Tessera-CSRF equal to the tessera_csrf cookie and a same-origin Origin',
        },
      },
      schemas: sharedSchemas,
    },
  };
}

export function openApiEndpoint(
  config: Pick<ServerConfig, 'issuer'>,
  table: () => readonly Endpoint[],
  tenantTable: readonly Endpoint[] = [],
): Endpoint {
  return {
    method: 'GET',
    paths: ['/openapi.json'],
    summary: 'This document',
    caller: 'none',
    responses: {
      200: json('OpenAPI 3.1', object({ openapi: { const: '3.1.0' }, paths: { type: 'object' } })),
    },
    handle: () => ({ status: 200, body: openApiDocument(table(), config.issuer, tenantTable) }),
  };
}
