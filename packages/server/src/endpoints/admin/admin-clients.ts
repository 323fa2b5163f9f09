import type { FastifyInstance, FastifyRequest } from 'fastify';
import { clientView } from '../../views/record-views.js';
import type { TesseraContext } from '../../context.js';
import { ClientRegistry } from '../../registry/client-registry.js';
import { noStoreHeaders } from '../../http/error-reply.js';
import { authenticateAdmin } from './admin-auth.js';
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

type IdParams = { Params: { id: string } };

/** The admin API's client routes: the HTTP twin of `tessera clients …`. */
export function registerAdminClients(app: FastifyInstance, context: TesseraContext): void {
  const registryFor = async (request: FastifyRequest) => {
    const actor = await authenticateAdmin(context, request);
    return new ClientRegistry(context.store, context.hasher, {
      nowSeconds: context.nowSeconds,
      actor: `admin-api:${actor}`,
    });
  };
  // A write in this process must be seen by its own next token request at once.
  const refreshed = <T extends { clientId: string }>(client: T): T => {
    context.clients.invalidate(client.clientId);
    return client;
  };

  app.get('/admin/v1/clients', async (request) => {
    const registry = await registryFor(request);
    return { clients: (await registry.list()).map(clientView) };
  });

  app.post('/admin/v1/clients', async (request, reply) => {
    const registry = await registryFor(request);
    const body = objectBody(request.body);
    const { client, clientSecret } = await registry
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
    const { secrets: _secrets, client_id, ...view } = clientView(refreshed(client));
    request.log.info({ action: 'client.create', target: client_id }, 'admin change');
    return reply
      .code(201)
      .headers(noStoreHeaders)
      .send({ client_id, client_secret: clientSecret, ...view });
  });

  app.get<IdParams>('/admin/v1/clients/:id', async (request) => {
    const registry = await registryFor(request);
    return clientView(await registry.get(request.params.id).catch(registryError));
  });

  app.patch<IdParams>('/admin/v1/clients/:id', async (request) => {
    const registry = await registryFor(request);
    const body = objectBody(request.body);
    const client = await registry
      .update(request.params.id, {
        name: optionalString(body, 'name'),
        scope: optionalString(body, 'scope'),
        audiences: optionalStringList(body, 'audience'),
        tokenTtl: optionalInteger(body, 'token_ttl'),
        authMethod: optionalString(body, 'auth_method'),
        ...authConfigFields(body),
      })
      .catch(registryError);
    request.log.info({ action: 'client.update', target: client.clientId }, 'admin change');
    return clientView(refreshed(client));
  });

  for (const action of ['disable', 'enable'] as const) {
    app.post<IdParams>(`/admin/v1/clients/:id/${action}`, async (request) => {
      const registry = await registryFor(request);
      const status = action === 'enable' ? 'active' : 'disabled';
      const client = await registry.setStatus(request.params.id, status).catch(registryError);
      request.log.info({ action: `client.${action}`, target: client.clientId }, 'admin change');
      return clientView(refreshed(client));
    });
  }

  app.delete<IdParams>('/admin/v1/clients/:id', async (request, reply) => {
    const registry = await registryFor(request);
    await registry.delete(request.params.id).catch(registryError);
    context.clients.invalidate(request.params.id);
    request.log.info({ action: 'client.delete', target: request.params.id }, 'admin change');
    return reply.code(204).send();
  });

  app.post<IdParams>('/admin/v1/clients/:id/rotate-secret', async (request, reply) => {
    const registry = await registryFor(request);
    const body = objectBody(request.body);
    const grace = optionalInteger(body, 'grace_seconds') ?? defaultGraceSeconds;
    const { client, clientSecret } = await registry
      .rotateSecret(request.params.id, grace)
      .catch(registryError);
    const view = clientView(refreshed(client));
    request.log.info(
      { action: 'client.rotate_secret', target: view.client_id, grace_seconds: grace },
      'admin change',
    );
    return reply
      .headers(noStoreHeaders)
      .send({ client_id: view.client_id, client_secret: clientSecret, secrets: view.secrets });
  });
}
