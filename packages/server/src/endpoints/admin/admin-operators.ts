import { OAuthError } from '@tessera/protocol';
import type { TesseraContext } from '../../context.js';
import { noStoreHeaders } from '../../http/error-reply.js';
import { dateTime, json, list, object, str } from '../endpoint.js';
import type { Endpoint } from '../endpoint.js';
import { auditAbout } from './admin-audit.js';
import { objectBody, optionalString } from './admin-input.js';
import { adminRoles, isAdminRole } from './admin-roles.js';

export type AdminOperatorDeps = Pick<TesseraContext, 'store' | 'nowSeconds'>;

const operatorSchema = object({
  email: str,
  role: { enum: [...adminRoles] },
  created_at: dateTime,
});
const email = /^[^\s@]+@[^\s@]+$/;

/**
 * The admin API's twin of `tessera operators`: the people Tessera itself gives a console role
 * (by verified email). Managing roles is the admin role's, reading them too (they name people).
 */
export function adminOperatorEndpoints(deps: AdminOperatorDeps): Endpoint[] {
  const view = (operator: { email: string; role: string; createdAt: number }) => ({
    email: operator.email,
    role: operator.role,
    created_at: new Date(operator.createdAt * 1000).toISOString(),
  });
  return [
    {
      method: 'GET',
      paths: ['/admin/v1/operators'],
      summary: 'People given a console role by Tessera (besides their identity provider groups)',
      caller: 'admin',
      role: 'admin',
      responses: { 200: json('Operators', object({ operators: list(operatorSchema) })) },
      handle: async () => ({
        status: 200,
        body: { operators: (await deps.store.listOperators()).map(view) },
      }),
    },
    {
      method: 'POST',
      paths: ['/admin/v1/operators'],
      summary: 'Give a person (by verified email) a console role, or change it',
      caller: 'admin',
      role: 'admin',
      request: { body: object({ email: str, role: { enum: [...adminRoles] } }) },
      responses: { 200: json('The operator', operatorSchema), 400: 'invalid_request' },
      async handle(request) {
        const body = objectBody(request.body);
        const address = optionalString(body, 'email')?.toLowerCase();
        const role = optionalString(body, 'role');
        if (address === undefined || !email.test(address))
          throw new OAuthError('invalid_request', 'email must be an email address');
        if (!isAdminRole(role))
          throw new OAuthError('invalid_request', 'role must be viewer, operator or admin');
        const operator = { email: address, role, createdAt: deps.nowSeconds() };
        await deps.store.putOperator(operator);
        await deps.store.appendAudit({
          at: operator.createdAt,
          ...auditAbout(request),
          action: 'operator.add',
          target: address,
          details: { role },
        });
        return { status: 200, headers: noStoreHeaders, body: view(operator) };
      },
    },
    {
      method: 'DELETE',
      paths: ['/admin/v1/operators/:email'],
      summary: "Take a person's console role from Tessera's list (open sessions follow at once)",
      caller: 'admin',
      role: 'admin',
      responses: { 204: { description: 'Removed' }, 404: 'not_found' },
      async handle(request) {
        const address = (request.path?.email ?? '').toLowerCase();
        if (!(await deps.store.removeOperator(address)))
          throw new OAuthError('not_found', 'No such operator');
        await deps.store.appendAudit({
          at: deps.nowSeconds(),
          ...auditAbout(request),
          action: 'operator.remove',
          target: address,
          details: {},
        });
        return { status: 204 };
      },
    },
  ];
}
