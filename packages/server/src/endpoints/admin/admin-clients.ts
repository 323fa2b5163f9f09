import { clientView } from '../../cli/output.js';
import type { TesseraContext } from '../../context.js';
import { ClientRegistry } from '../../registry/client-registry.js';
import { noStoreHeaders } from '../../http/error-reply.js';
import { error, ref, type Endpoint, type EndpointRequest } from '../endpoint.js';
import {
  authConfigFields,
  objectBody,
  optionalInteger,
  optionalString,
  optionalStringList,
  registryError,
} from './admin-input.js';

/** Default grace period (seconds) for the previous secret after a rotation. */
const defaultGraceSeconds = 86400;

export type AdminClientDeps = Pick<TesseraContext, 'store' | 'hasher' | 'nowSeconds' | 'clients'>;

const client = { description: 'The client (never its secret)', schema: ref('Client') };
const notFound = error('not_found');
const invalid = error('invalid_client_metadata');
const clientInput = ref('ClientInput');

/** The admin API's client routes: the HTTP twin of `tessera clients …`. */
export function adminClientEndpoints(deps: AdminClientDeps): Endpoint[] {
  const registryFor = (request: EndpointRequest) =>
    new ClientRegistry(deps.store, deps.hasher, {
      nowSeconds: deps.nowSeconds,
      actor: `admin-api:${request.actor}`,
    });
  // A write in this process must be seen by its own next token request at once.
  const refreshed = <T extends { clientId: string }>(record: T): T => {
    deps.clients.invalidate(record.clientId);
    return record;
  };
  const id = (request: EndpointRequest) => request.path!.id!;
  const admin = { caller: 'admin', body: 'json' } as const;

  const statusChanges = (['disable', 'enable'] as const).map((action): Endpoint => ({
    ...admin,
    name: `${action}Client`,
    method: 'POST',
    paths: [`/admin/v1/clients/:id/${action}`],
    summary: `${action === 'enable' ? 'Enable' : 'Disable'} a client`,
    responses: { 200: client, 404: notFound },
    async handle(request) {
      const status = action === 'enable' ? 'active' : 'disabled';
      const changed = await registryFor(request)
        .setStatus(id(request), status)
        .catch(registryError);
      request.log?.info({ action: `client.${action}`, target: changed.clientId }, 'admin change');
      return { status: 200, body: clientView(refreshed(changed)) };
    },
  }));

  return [
    {
      ...admin,
      name: 'listClients',
      method: 'GET',
      paths: ['/admin/v1/clients'],
      summary: 'List clients',
      responses: {
        200: {
          description: 'Clients',
          schema: {
            type: 'object',
            properties: { clients: { type: 'array', items: ref('Client') } },
            required: ['clients'],
          },
        },
      },
      async handle(request) {
        return {
          status: 200,
          body: { clients: (await registryFor(request).list()).map(clientView) },
        };
      },
    },
    {
      ...admin,
      name: 'createClient',
      method: 'POST',
      paths: ['/admin/v1/clients'],
      summary: 'Create a client; the secret is in this response only',
      request: { body: clientInput },
      responses: {
        201: { description: 'Created, with client_secret', schema: ref('Client') },
        400: invalid,
        409: error('conflict'),
      },
      async handle(request) {
        const body = objectBody(request.body);
        const { client: created, clientSecret } = await registryFor(request)
          .create({
            name: optionalString(body, 'name') ?? '',
            scope: optionalString(body, 'scope'),
            audiences: optionalStringList(body, 'audience'),
            tokenTtl: optionalInteger(body, 'token_ttl'),
            authMethod: optionalString(body, 'auth_method'),
            clientId: optionalString(body, 'client_id'),
            clientSecret: optionalString(body, 'client_secret'),
            ...authConfigFields(body),
          })
          .catch(registryError);
        const { secrets: _secrets, client_id, ...view } = clientView(refreshed(created));
        request.log?.info({ action: 'client.create', target: client_id }, 'admin change');
        return {
          status: 201,
          headers: noStoreHeaders,
          body: { client_id, client_secret: clientSecret, ...view },
        };
      },
    },
    {
      ...admin,
      name: 'getClient',
      method: 'GET',
      paths: ['/admin/v1/clients/:id'],
      summary: 'Show a client',
      responses: { 200: client, 404: notFound },
      async handle(request) {
        const found = await registryFor(request).get(id(request)).catch(registryError);
        return { status: 200, body: clientView(found) };
      },
    },
    {
      ...admin,
      name: 'updateClient',
      method: 'PATCH',
      paths: ['/admin/v1/clients/:id'],
      summary: 'Update scopes, audience, lifetime, auth method or name',
      request: { body: clientInput },
      responses: { 200: client, 400: invalid, 404: notFound },
      async handle(request) {
        const body = objectBody(request.body);
        const updated = await registryFor(request)
          .update(id(request), {
            name: optionalString(body, 'name'),
            scope: optionalString(body, 'scope'),
            audiences: optionalStringList(body, 'audience'),
            tokenTtl: optionalInteger(body, 'token_ttl'),
            authMethod: optionalString(body, 'auth_method'),
            ...authConfigFields(body),
          })
          .catch(registryError);
        request.log?.info({ action: 'client.update', target: updated.clientId }, 'admin change');
        return { status: 200, body: clientView(refreshed(updated)) };
      },
    },
    ...statusChanges,
    {
      ...admin,
      name: 'deleteClient',
      method: 'DELETE',
      paths: ['/admin/v1/clients/:id'],
      summary: 'Delete a client',
      responses: { 204: { description: 'Deleted' }, 404: notFound },
      async handle(request) {
        await registryFor(request).delete(id(request)).catch(registryError);
        deps.clients.invalidate(id(request));
        request.log?.info({ action: 'client.delete', target: id(request) }, 'admin change');
        return { status: 204 };
      },
    },
    {
      ...admin,
      name: 'rotateClientSecret',
      method: 'POST',
      paths: ['/admin/v1/clients/:id/rotate-secret'],
      summary: 'Issue a new secret; the previous one works for grace_seconds (default 86400)',
      request: {
        body: { type: 'object', properties: { grace_seconds: { type: 'integer', minimum: 0 } } },
      },
      responses: {
        200: {
          description: 'The new secret, shown once',
          schema: {
            type: 'object',
            properties: {
              client_id: { type: 'string' },
              client_secret: { type: 'string' },
              secrets: { type: 'array', items: ref('Secret') },
            },
            required: ['client_id', 'client_secret', 'secrets'],
            additionalProperties: false,
          },
        },
        404: notFound,
      },
      async handle(request) {
        const body = objectBody(request.body);
        const grace = optionalInteger(body, 'grace_seconds') ?? defaultGraceSeconds;
        const { client: rotated, clientSecret } = await registryFor(request)
          .rotateSecret(id(request), grace)
          .catch(registryError);
        const view = clientView(refreshed(rotated));
        request.log?.info(
          { action: 'client.rotate_secret', target: view.client_id, grace_seconds: grace },
          'admin change',
        );
        return {
          status: 200,
          headers: noStoreHeaders,
          body: { client_id: view.client_id, client_secret: clientSecret, secrets: view.secrets },
        };
      },
    },
  ];
}
