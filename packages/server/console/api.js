// @ts-check
/**
 * The console's only HTTP code: the admin token request and the admin API (/admin/v1). Two
 * ways in: an admin client's access token, kept in this module's memory only (never
 * localStorage, sessionStorage or a cookie), so a reload signs out; or a person's session
 * signed in at the company's identity provider, held by the server behind an HttpOnly cookie,
 * with the tessera_csrf cookie echoed in the Tessera-CSRF header of every change.
 */

/**
 * The admin API's shapes, as `clientView`, `keyView` and `auditView` on the server write them.
 * @typedef {{ id: string, created_at: string, expires_at: string | null, last_used_at: string | null }} SecretView
 * @typedef {{
 *   client_id: string, name: string, status: string, scope: string, audience: string[],
 *   token_ttl: number | null, auth_method: string, secrets: SecretView[],
 *   federated_issuer?: string, federated_subject?: string, federated_audience?: string,
 *   profile?: string, claims?: Record<string, unknown>, token_quota?: string | null,
 *   reuse_tokens?: boolean
 * }} ClientView
 * @typedef {{ client_id: string, tokens_issued_24h: number, auth_failures_24h: number, last_used_at: string | null }} ClientActivity
 * @typedef {{ kid: string, alg: string, state: string, created_at: string, activates_at: string | null, retires_at: string | null }} KeyView
 * @typedef {{ id: number | string, at: string, actor: string, action: string, target: string | null, details: Record<string, unknown> | null,
 *   person: { iss: string, sub: string, email?: string } | null, source_address: string | null, request_id: string | null }} AuditView
 * @typedef {{ actor: string, role: string | null, tenant_roles?: Record<string, string>, person: { iss: string, sub: string, email?: string }, acr: string | null }} PersonSession
 * @typedef {{ sign_in: { oidc: boolean, secret: boolean }, session: PersonSession | null }} ConsoleSession
 * @typedef {{ issued: number[], auth_failures: number[] }} ActivitySeries
 */

import { messageOf, notify } from './dom.js';

/** @type {{ token: string } | { cookie: true } | undefined} */
let session;
/**
 * Issue 21: the tenant the console shows (the tenant switcher's choice). The default
 * tenant's clients, keys and audit trail are `/admin/v1/…`; another tenant's are
 * `/admin/v1/tenants/NAME/…`, so every view follows the switcher without knowing of it.
 */
let tenant = 'default';
const tenantScoped = /^\/admin\/v1\/(clients|keys|audit)(?=[/?]|$)/;

/** @param {string} name a tenant name, or `default` */
export function setTenant(name) {
  tenant = name;
}

export const currentTenant = () => tenant;

/** The path of `path` at the chosen tenant. @param {string} path */
export function tenantPath(path) {
  return tenant === 'default'
    ? path
    : path.replace(tenantScoped, `/admin/v1/tenants/${encodeURIComponent(tenant)}/$1`);
}
/** @type {(message: string) => void} */
let onUnauthorized = () => {};

export class ApiError extends Error {
  /** @param {number} status @param {string} message */
  constructor(status, message) {
    super(message);
    this.status = status;
  }
}

/** Called when the admin API answers 401: the session is over. @param {(message: string) => void} handler */
export function onSessionEnded(handler) {
  onUnauthorized = handler;
}

/** @param {string} token the admin access token */
export function startSession(token) {
  session = { token };
}

/** A person's server-side session: the browser sends its cookie. */
export function startCookieSession() {
  session = { cookie: true };
}

export function endSession() {
  session = undefined;
  tenant = 'default';
}

/** The tessera_csrf cookie's value (the session cookie itself is HttpOnly). */
function csrfToken() {
  const found = document.cookie.split('; ').find((pair) => pair.startsWith('tessera_csrf='));
  return found ? found.slice('tessera_csrf='.length) : '';
}

/** How this server signs people in, and the person's session if there is one. @returns {Promise<ConsoleSession>} */
export async function consoleSession() {
  const response = await fetch('/console/session', {
    cache: 'no-store',
    credentials: 'same-origin',
  });
  return response.json();
}

/** Ends a person's session on the server. */
export async function signOutPerson() {
  await fetch('/console/sign-out', {
    method: 'POST',
    headers: { 'tessera-csrf': csrfToken() },
    cache: 'no-store',
    credentials: 'same-origin',
  });
}

/** RFC 6749 §2.3.1: form-urlencode id and secret, then Basic. @param {string} id @param {string} secret */
function basicAuthorization(id, secret) {
  const encode = (/** @type {string} */ value) => encodeURIComponent(value).replace(/%20/g, '+');
  return `Basic ${btoa(`${encode(id)}:${encode(secret)}`)}`;
}

/**
 * Asks this server's token endpoint for a `tessera:admin` token with client_secret_basic;
 * with `tenant` (issue 21), that tenant's token endpoint (`/t/NAME/oauth/token`), for one of
 * the tenant's own admin clients, which then manages that tenant only.
 * @param {string} clientId @param {string} secret @param {string} [tenant]
 * @returns {Promise<{ ok: boolean, status: number, data: any }>}
 */
export async function requestAdminToken(clientId, secret, tenant) {
  const endpoint =
    tenant && tenant !== 'default'
      ? `/t/${encodeURIComponent(tenant)}/oauth/token`
      : '/oauth/token';
  const response = await fetch(endpoint, {
    method: 'POST',
    headers: {
      authorization: basicAuthorization(clientId, secret),
      'content-type': 'application/x-www-form-urlencoded',
    },
    body: 'grant_type=client_credentials&scope=tessera%3Aadmin',
    cache: 'no-store',
    // No cookies, and no browser sign-in prompt on the Basic challenge a wrong secret gets.
    credentials: 'omit',
  });
  const data = await response.json().catch(() => ({}));
  return { ok: response.ok, status: response.status, data };
}

/**
 * Calls the admin API with the session's token; a 401 ends the session.
 * @param {string} method
 * @param {string} path
 * @param {unknown} [body]
 * @returns {Promise<any>}
 */
export async function api(method, path, body) {
  if (!session) throw new ApiError(401, 'Not signed in');
  /** @type {Record<string, string>} */
  const headers =
    'token' in session
      ? { authorization: `Bearer ${session.token}` }
      : method === 'GET'
        ? {}
        : { 'tessera-csrf': csrfToken() };
  if (body !== undefined) headers['content-type'] = 'application/json';
  const response = await fetch(tenantPath(path), {
    method,
    headers,
    body: body === undefined ? undefined : JSON.stringify(body),
    cache: 'no-store',
    // A token session sends no cookies (and gets no browser prompt on a Basic challenge); a
    // person's session is its cookie.
    credentials: 'token' in session ? 'omit' : 'same-origin',
  });
  const text = await response.text();
  const data = text ? JSON.parse(text) : undefined;
  if (response.status === 401) {
    onUnauthorized('Your session ended; sign in again.');
    throw new ApiError(401, 'Signed out');
  }
  if (!response.ok) {
    throw new ApiError(
      response.status,
      data?.error_description ?? data?.error ?? `HTTP ${response.status}`,
    );
  }
  return data;
}

/** True when the error only says the session ended (already reported by signing out). @param {unknown} error */
export const isSignedOut = (error) => error instanceof ApiError && error.status === 401;

/** Runs an action, reporting its failure in the notice area. @param {() => Promise<void>} run */
export async function attempt(run) {
  try {
    await run();
  } catch (error) {
    if (!isSignedOut(error)) notify(messageOf(error), true);
  }
}
