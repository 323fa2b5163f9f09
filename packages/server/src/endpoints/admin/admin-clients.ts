import { clientView } from '../../views/record-views.js';
import type { TesseraContext } from '../../context.js';
import { ClientRegistry } from '../../registry/client-registry.js';
import { noStoreHeaders } from '../../http/error-reply.js';
import { auditAbout } from './admin-audit.js';
import { int, json, list, object, ref, str } from '../endpoint.js';
import type { Endpoint, EndpointRequest } from '../endpoint.js';
import { clientPageParams, clientPageQuery, encodeCursor } from './admin-client-page.js';
import {
  authConfigFields,
  objectBody,
  optionalBoolean,
  optionalInteger,
  optionalNullableString,
  optionalString,
  optionalStringList,
  registryError,
} from './admin-input.js';

/** Default grace period (seconds) for the previous secret after a rotation. */
const defaultGraceSeconds = 86400;

export type AdminClientDeps = Pick<
  TesseraContext,
  'store' | 'hasher' | 'nowSeconds' | 'clients' | 'quotas'
> & {
  config?: Pick<TesseraContext['config'], 'fapiMaxTokenLifetime'>;
};

const client = json('The client (never its secret)', ref('Client'));
const [notFound, invalid] = ['not_found', 'invalid_client_metadata'];
// The role each route needs: reading is viewer, changing is operator, deleting is admin.
const viewer = { caller: 'admin', role: 'viewer' } as const;
const operator = { caller: 'admin', role: 'operator' } as const;
const admin = { caller: 'admin', role: 'admin' } as const;
const id = (request: EndpointRequest) => request.path!.id!;

/** The fields `clients create` and `clients update` share, from a JSON body. */
const clientFields = (body: Record<string, unknown>) => ({
  name: optionalString(body, 'name'),
  scope: optionalString(body, 'scope'),
  audiences: optionalStringList(body, 'audience'),
  tokenTtl: optionalInteger(body, 'token_ttl'),
  authMethod: optionalString(body, 'auth_method'),
  profile: body.profile === null ? null : optionalString(body, 'profile'),
  // The registry checks it (a JSON object, no reserved names, at most 4,096 bytes).
  claims: body.claims,
  tokenQuota: optionalNullableString(body, 'token_quota'),
  reuseTokens: optionalBoolean(body, 'reuse_tokens'),
});

/** The admin API's client routes: the HTTP twin of `tessera clients …`. */
export function adminClientEndpoints(deps: AdminClientDeps): Endpoint[] {
  const registryFor = (request: EndpointRequest) => {
    const { actor, ...about } = auditAbout(request);
    return new ClientRegistry(deps.store, deps.hasher, {
      nowSeconds: deps.nowSeconds,
      actor,
      about,
      fapiMaxTokenLifetime: deps.config?.fapiMaxTokenLifetime,
    });
  };
  // A write in this process must be seen by its own next token request at once.
  const refreshed = <T extends { clientId: string }>(record: T): T => {
    deps.clients.invalidate(record.clientId);
    return record;
  };
  const statusChanges = (['disable', 'enable'] as const).map((action): Endpoint => ({
    ...operator,
    method: 'POST',
    paths: [`/admin/v1/clients/:id/${action}`],
    summary: `${action === 'enable' ? 'Enable' : 'Disable'} a client`,
    responses: { 200: client, 404: notFound },
    async handle(request) {
      const status = action === 'enable' ? 'active' : 'disabled';
      const changed = await registryFor(request)
        .setStatus(id(request), status)
        .catch(registryError);
      const view = clientView(refreshed(changed));
      return {
        status: 200,
        body: view,
        change: { action: `client.${action}`, target: view.client_id },
      };
    },
  }));

  return [
    {
      ...viewer,
      method: 'GET',
      paths: ['/admin/v1/clients'],
      summary: 'List clients, oldest first, a page at a time; `q` searches id and name prefixes',
      request: { query: clientPageQuery },
      responses: {
        200: json(
          'A page of clients; next_cursor fetches the next (null after the last)',
          object({ clients: list(ref('Client')), next_cursor: { type: ['string', 'null'] } }),
        ),
        400: 'invalid_request',
      },
      async handle(request) {
        const { limit, after, q } = clientPageParams(request.query);
        const page = await deps.store.listClientPage({ limit, after, q });
        const last = page.clients.at(-1);
        return {
          status: 200,
          body: {
            clients: page.clients.map(clientView),
            next_cursor: page.more && last ? encodeCursor(last) : null,
          },
        };
      },
    },
    {
      ...operator,
      method: 'POST',
      paths: ['/admin/v1/clients'],
      summary: 'Create a client; the secret is in this response only',
      request: { body: ref('ClientInput') },
      responses: {
        201: json('Created, with client_secret', ref('Client')),
        400: invalid,
        409: 'conflict',
      },
      async handle(request) {
        const body = objectBody(request.body);
        const { client: created, clientSecret } = await registryFor(request)
          .create({
            ...clientFields(body),
            name: optionalString(body, 'name') ?? '',
            clientId: optionalString(body, 'client_id'),
            clientSecret: optionalString(body, 'client_secret'),
            ...authConfigFields(body),
          })
          .catch(registryError);
        const { secrets: _secrets, client_id, ...view } = clientView(refreshed(created));
        return {
          status: 201,
          headers: noStoreHeaders,
          body: { client_id, client_secret: clientSecret, ...view },
          change: { action: 'client.create', target: client_id },
        };
      },
    },
    {
      ...viewer,
      method: 'GET',
      paths: ['/admin/v1/clients/:id'],
      summary: 'Show a client',
      responses: { 200: client, 404: notFound },
      handle: async (request) => ({
        status: 200,
        body: clientView(await registryFor(request).get(id(request)).catch(registryError)),
      }),
    },
    {
      ...operator,
      method: 'PATCH',
      paths: ['/admin/v1/clients/:id'],
      summary:
        'Update scopes, audience, lifetime, auth method, name, claims (replaced whole), token quota or reuse',
      request: { body: ref('ClientInput') },
      responses: { 200: client, 400: invalid, 404: notFound },
      async handle(request) {
        const body = objectBody(request.body);
        const updated = await registryFor(request)
          .update(id(request), { ...clientFields(body), ...authConfigFields(body) })
          .catch(registryError);
        const view = clientView(refreshed(updated));
        return {
          status: 200,
          body: view,
          change: { action: 'client.update', target: view.client_id },
        };
      },
    },
    {
      ...viewer,
      method: 'GET',
      paths: ['/admin/v1/clients/:id/usage'],
      summary: "The client's token quota and each window's use (issue 22)",
      responses: { 200: json('Token quota use', ref('ClientUsage')), 404: notFound },
      async handle(request) {
        const found = await registryFor(request).get(id(request)).catch(registryError);
        const quota = deps.quotas.quotaOf(found);
        const windows = quota ? await deps.quotas.gate.usage(found.clientId, quota) : [];
        return {
          status: 200,
          body: {
            client_id: found.clientId,
            token_quota: quota?.text ?? null,
            windows: windows.map(({ window, used, resetsAt }) => ({
              period: window.period,
              limit: window.limit,
              used,
              resets_at: new Date(resetsAt * 1000).toISOString(),
            })),
          },
        };
      },
    },
    ...statusChanges,
    {
      ...admin,
      method: 'DELETE',
      paths: ['/admin/v1/clients/:id'],
      summary: 'Delete a client',
      responses: { 204: { description: 'Deleted' }, 404: notFound },
      async handle(request) {
        await registryFor(request).delete(id(request)).catch(registryError);
        deps.clients.invalidate(id(request));
        return { status: 204, change: { action: 'client.delete', target: id(request) } };
      },
    },
    {
      ...operator,
      method: 'POST',
      paths: ['/admin/v1/clients/:id/rotate-secret'],
      summary: 'Issue a new secret; the previous one works for grace_seconds (default 86400)',
      request: { body: object({}, { grace_seconds: { ...int, minimum: 0 } }) },
      responses: {
        200: json('The new secret, shown once', {
          ...object({ client_id: str, client_secret: str, secrets: list(ref('Secret')) }),
          additionalProperties: false,
        }),
        404: notFound,
      },
      async handle(request) {
        const grace =
          optionalInteger(objectBody(request.body), 'grace_seconds') ?? defaultGraceSeconds;
        const { client: rotated, clientSecret } = await registryFor(request)
          .rotateSecret(id(request), grace)
          .catch(registryError);
        const { client_id, secrets } = clientView(refreshed(rotated));
        return {
          status: 200,
          headers: noStoreHeaders,
          body: { client_id, client_secret: clientSecret, secrets },
          change: { action: 'client.rotate_secret', target: client_id, grace_seconds: grace },
        };
      },
    },
  ];
}
