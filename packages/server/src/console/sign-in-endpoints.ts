import type { Logger } from 'pino';
import type { ServerConfig } from '../config.js';
import { requestOrigin } from '../endpoints/admin/admin-audit.js';
import { bool, json, nullable, object, str } from '../endpoints/endpoint.js';
import type { Answer, Endpoint, EndpointRequest } from '../endpoints/endpoint.js';
import { noStoreHeaders } from '../http/error-reply.js';
import type { AuditEntry, Store } from '../store/contract.js';
import { consoleSecurityHeaders } from './console-routes.js';
import { hasAnyRole, roleOfPerson } from './console-roles.js';
import {
  callerOf,
  opaque,
  signInCookie,
  signInSeconds,
  storedId,
  type ConsoleSessions,
} from './console-sessions.js';
import { readCookies, setCookie } from './cookies.js';
import { SignInError, type OidcSignIn, type PendingSignIn } from './oidc-sign-in.js';

export interface SignInDeps {
  config: ServerConfig;
  store: Store;
  sessions: ConsoleSessions;
  /** Undefined when no identity provider is configured. */
  oidc: OidcSignIn | undefined;
  nowSeconds: () => number;
  logger: Logger;
}

const escape = (text: string) => text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

/** A small page of the console's own style: a heading, a sentence, a way back. */
function page(status: number, title: string, message: string, cookies?: string[]): Answer {
  const body = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>${escape(title)} · Tessera</title>
<link rel="stylesheet" href="/console/console.css"></head>
<body><main class="notice-page"><h1>${escape(title)}</h1><p>${escape(message)}</p>
<p><a href="/console">Back to the console</a></p></main></body></html>\n`;
  return {
    status,
    headers: {
      ...consoleSecurityHeaders,
      'cache-control': 'no-store',
      'content-type': 'text/html; charset=utf-8',
    },
    body,
    ...(cookies ? { cookies } : {}),
  };
}

const notConfigured: Answer = {
  status: 404,
  headers: noStoreHeaders,
  body: {
    error: 'not_found',
    error_description: 'Console sign-in with an identity provider is not configured',
  },
};

const html = (description: string) => ({ description, type: 'text/html' });

/**
 * The console's sign-in for people (OpenID Connect, issue 20): `/console/sign-in` sends the
 * browser to the company's provider, `/console/callback` (the redirect_uri to register) turns
 * its answer into a server-side session, `/console/sign-out` ends it, and `/console/session`
 * tells the page how it may sign in and who is signed in.
 */
export function signInEndpoints(deps: SignInDeps): Endpoint[] {
  const { config, store, sessions } = deps;
  const audit = async (
    request: EndpointRequest,
    action: string,
    person: AuditEntry['person'],
    details: Record<string, unknown> = {},
  ) => {
    const { sourceAddress, requestId } = requestOrigin(request);
    const who = person ? `person:${person.email ?? person.sub}` : 'anonymous';
    await store.appendAudit({
      at: deps.nowSeconds(),
      actor: who,
      action,
      target: null,
      details,
      person,
      sourceAddress,
      requestId,
    });
  };
  const clearSignIn = setCookie(signInCookie, '', {
    httpOnly: true,
    secure: sessions.secure,
    sameSite: 'Lax',
    path: '/console/callback',
    maxAge: 0,
  });

  return [
    {
      method: 'GET',
      paths: ['/console/session'],
      summary: 'How the console may sign in, and who is signed in (a person’s session cookie)',
      caller: 'none',
      responses: {
        200: json(
          'The sign-in methods and the session, if any',
          object({
            sign_in: object({ oidc: bool, secret: bool }),
            session: nullable(
              object(
                {
                  actor: str,
                  role: nullable(str),
                  person: object({ iss: str, sub: str }, { email: str }),
                },
                { acr: nullable(str), tenant_roles: { type: 'object' } },
              ),
            ),
          }),
        ),
      },
      async handle(request) {
        const found = await sessions.find(request.raw);
        const caller = found && callerOf(found.data);
        return {
          status: 200,
          headers: noStoreHeaders,
          body: {
            sign_in: { oidc: deps.oidc !== undefined, secret: config.consoleSecretSignIn },
            session: caller
              ? {
                  actor: caller.actor,
                  role: caller.role ?? null,
                  // Issue 21: the person's roles on single tenants (besides role, everywhere).
                  ...(caller.tenantRoles ? { tenant_roles: caller.tenantRoles } : {}),
                  person: caller.person,
                  acr: caller.acr ?? null,
                }
              : null,
          },
        };
      },
    },
    {
      method: 'GET',
      paths: ['/console/sign-in'],
      summary: "Sends the browser to the identity provider's authorization endpoint (code + PKCE)",
      caller: 'none',
      responses: {
        302: { description: 'To the identity provider' },
        404: 'not_found',
        502: html('The identity provider could not be reached'),
      },
      async handle() {
        if (!deps.oidc) return notConfigured;
        let started: { location: string; pending: PendingSignIn };
        try {
          started = await deps.oidc.start();
        } catch (error) {
          deps.logger.warn({ err: error }, 'console sign-in: the identity provider is unreachable');
          return page(
            502,
            'Sign-in is unavailable',
            'The identity provider could not be reached. Try again in a moment.',
          );
        }
        const value = opaque();
        const now = deps.nowSeconds();
        await store.putConsoleSession({
          id: storedId(value),
          kind: 'sign-in',
          data: { ...started.pending },
          createdAt: now,
          lastSeenAt: now,
          expiresAt: now + signInSeconds,
        });
        return {
          status: 302,
          headers: { ...noStoreHeaders, location: started.location },
          // Lax, not Strict: the provider's redirect back is a cross-site navigation.
          cookies: [
            setCookie(signInCookie, value, {
              httpOnly: true,
              secure: sessions.secure,
              sameSite: 'Lax',
              path: '/console/callback',
              maxAge: signInSeconds,
            }),
          ],
        };
      },
    },
    {
      method: 'GET',
      paths: ['/console/callback'],
      summary:
        "The redirect_uri: checks the provider's answer and the ID token, then starts a session",
      caller: 'none',
      responses: {
        303: { description: 'Signed in: to the console, with the session cookies' },
        400: html('The sign-in could not be completed or verified'),
        403: html('The person has no role in Tessera'),
        404: 'not_found',
      },
      async handle(request) {
        if (!deps.oidc) return notConfigured;
        const value = readCookies(request.raw).get(signInCookie);
        const pendingRecord = value ? await store.getConsoleSession(storedId(value)) : undefined;
        // One use only, and only in the browser that started it.
        if (pendingRecord) await store.deleteConsoleSession(pendingRecord.id);
        if (pendingRecord?.kind !== 'sign-in' || deps.nowSeconds() >= pendingRecord.expiresAt)
          return page(
            400,
            'Sign-in expired',
            'This sign-in was not started in this browser, or took too long. Start again.',
            [clearSignIn],
          );
        let person;
        try {
          const url = new URL(request.raw.url ?? '/', config.issuer);
          person = await deps.oidc.finish(url, pendingRecord.data as unknown as PendingSignIn);
        } catch (error) {
          const code = error instanceof SignInError ? error.code : 'unexpected';
          request.host?.log.warn({ err: error, code }, 'console sign-in refused');
          await audit(request, 'console.sign_in_failed', null, { reason: code });
          return page(
            400,
            'Sign-in failed',
            `The identity provider's answer could not be verified (${code}).`,
            [clearSignIn],
          );
        }
        const who = {
          iss: person.iss,
          sub: person.sub,
          ...(person.email ? { email: person.email } : {}),
        };
        const roles = await roleOfPerson(config, store, person.claims);
        const { role, tenantRoles, groups, listedEmail } = roles;
        if (!hasAnyRole(roles)) {
          await audit(request, 'console.sign_in_refused', who);
          return page(
            403,
            'No access to Tessera',
            `You are signed in at the identity provider as ${person.email ?? person.sub}, but none of your groups has a role in Tessera and you are not on its list of operators. Ask an administrator for access.`,
            [clearSignIn],
          );
        }
        const onTenants = Object.keys(tenantRoles).length > 0;
        const cookies = await sessions.create({
          person: who,
          ...(role ? { role } : {}),
          ...(onTenants ? { tenantRoles } : {}),
          acr: person.acr,
          ...(groups.role ? { groupRole: groups.role } : {}),
          ...(Object.keys(groups.tenantRoles).length > 0
            ? { groupTenantRoles: groups.tenantRoles }
            : {}),
          ...(listedEmail ? { listedEmail } : {}),
        });
        await audit(request, 'console.sign_in', who, {
          ...(role ? { role } : {}),
          ...(onTenants ? { tenant_roles: tenantRoles } : {}),
          ...(person.acr ? { acr: person.acr } : {}),
        });
        return {
          status: 303,
          headers: { ...noStoreHeaders, location: '/console' },
          cookies: [...cookies, clearSignIn],
        };
      },
    },
    {
      method: 'POST',
      paths: ['/console/sign-out'],
      summary: 'Ends the console session server-side and clears its cookies (needs Tessera-CSRF)',
      caller: 'none',
      responses: { 204: { description: 'Signed out' }, 403: 'access_denied' },
      async handle(request) {
        const found = await sessions.find(request.raw);
        if (found) {
          sessions.checkCsrf(request.raw, found.data);
          await store.deleteConsoleSession(found.record.id);
          await audit(request, 'console.sign_out', found.data.person);
        }
        return { status: 204, headers: noStoreHeaders, cookies: sessions.cleared() };
      },
    },
  ];
}
