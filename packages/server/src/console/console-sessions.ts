import { OAuthError } from '@tessera/protocol';
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { ServerConfig } from '../config.js';
import { type AdminCaller, type AdminRole } from '../endpoints/admin/admin-roles.js';
import type { AuditPerson, ConsoleSessionRecord, Store } from '../store/contract.js';
import { combineRoles, hasAnyRole, listedRoles } from './console-roles.js';
import { readCookies, setCookie } from './cookies.js';

export const sessionCookie = 'tessera_session';
export const csrfCookie = 'tessera_csrf';
export const signInCookie = 'tessera_sign_in';
export const csrfHeader = 'tessera-csrf';
/** How long a started sign-in may take at the provider (s). */
export const signInSeconds = 600;

/** A random opaque value: 256 bits, base64url. */
export const opaque = (): string => randomBytes(32).toString('base64url');
/** What the store keeps instead of the cookie's value. */
export const storedId = (value: string): string =>
  createHash('sha256').update(value).digest('base64url');

export interface SessionData {
  person: AuditPerson;
  /** The deployment-wide role; undefined when the person's roles are all on single tenants. */
  role?: AdminRole | undefined;
  /** Issue 21: roles on single tenants, by tenant name (absent in sessions of earlier releases). */
  tenantRoles?: Record<string, AdminRole> | undefined;
  acr?: string | undefined;
  csrf: string;
  /** What the groups gave at sign-in, and the verified email the operator lists are read by. */
  groupRole?: AdminRole | undefined;
  groupTenantRoles?: Record<string, AdminRole> | undefined;
  listedEmail?: string | undefined;
}

type SessionConfig = Pick<
  ServerConfig,
  'issuer' | 'tlsCert' | 'consoleSessionIdle' | 'consoleSessionMax'
>;

const equal = (a: string, b: string) =>
  a.length === b.length && timingSafeEqual(Buffer.from(a), Buffer.from(b));

/**
 * Server-side console sessions: the browser holds only an opaque id in an HttpOnly,
 * SameSite=Strict cookie (Secure when Tessera is reached over TLS); the store holds its hash,
 * the person, their role and the CSRF token. A session ends after `consoleSessionIdle`
 * seconds without a request, `consoleSessionMax` seconds after sign-in, or at sign-out.
 */
export class ConsoleSessions {
  constructor(
    private readonly store: Store,
    private readonly config: SessionConfig,
    private readonly nowSeconds: () => number,
  ) {}

  /** Secure cookies when the browser reaches Tessera over TLS (here, or at a proxy). */
  get secure(): boolean {
    return this.config.tlsCert !== undefined || this.config.issuer.startsWith('https:');
  }

  /** Starts a session; returns its Set-Cookie headers (the session id and the CSRF token). */
  async create(data: Omit<SessionData, 'csrf'>): Promise<string[]> {
    const now = this.nowSeconds();
    const value = opaque();
    const csrf = opaque();
    await this.store.putConsoleSession({
      id: storedId(value),
      kind: 'session',
      data: { ...data, csrf },
      createdAt: now,
      lastSeenAt: now,
      expiresAt: now + this.config.consoleSessionMax,
    });
    const secure = this.secure;
    return [
      setCookie(sessionCookie, value, { httpOnly: true, secure, sameSite: 'Strict', path: '/' }),
      // Readable by the console's script, which echoes it in the Tessera-CSRF header.
      setCookie(csrfCookie, csrf, { secure, sameSite: 'Strict', path: '/' }),
    ];
  }

  /** The Set-Cookie headers that remove both cookies. */
  cleared(): string[] {
    const secure = this.secure;
    return [
      setCookie(sessionCookie, '', {
        httpOnly: true,
        secure,
        sameSite: 'Strict',
        path: '/',
        maxAge: 0,
      }),
      setCookie(csrfCookie, '', { secure, sameSite: 'Strict', path: '/', maxAge: 0 }),
    ];
  }

  /** Whether the request carries a session cookie at all. */
  static presentIn(request: IncomingMessage): boolean {
    return readCookies(request).has(sessionCookie);
  }

  /**
   * The live session the request's cookie names, its idle clock restarted; undefined when
   * there is none or it expired (then it is deleted).
   */
  async find(
    request: IncomingMessage,
  ): Promise<{ record: ConsoleSessionRecord; data: SessionData } | undefined> {
    const value = readCookies(request).get(sessionCookie);
    if (value === undefined || value === '') return undefined;
    const id = storedId(value);
    const record = await this.store.getConsoleSession(id);
    if (record?.kind !== 'session') return undefined;
    const now = this.nowSeconds();
    if (now >= record.expiresAt || now - record.lastSeenAt >= this.config.consoleSessionIdle) {
      await this.store.deleteConsoleSession(id);
      return undefined;
    }
    const data = record.data as unknown as SessionData;
    // A change to Tessera's operator lists (deployment-wide or a tenant's) applies at once, not
    // at the next sign-in: a removed role narrows the session, the last one ends it.
    if (data.listedEmail !== undefined) {
      const listed = await listedRoles(this.store, data.listedEmail);
      const groups = { role: data.groupRole, tenantRoles: data.groupTenantRoles ?? {} };
      const roles = combineRoles(groups, listed);
      if (!hasAnyRole(roles)) {
        await this.store.deleteConsoleSession(id);
        return undefined;
      }
      data.role = roles.role;
      data.tenantRoles = roles.tenantRoles;
    }
    if (now > record.lastSeenAt) await this.store.touchConsoleSession(id, now);
    return { record, data };
  }

  /**
   * CSRF defence for a state-changing request: the `Tessera-CSRF` header must equal the
   * `tessera_csrf` cookie and the session's token, and `Origin` must be Tessera's own.
   */
  checkCsrf(request: IncomingMessage, data: SessionData): void {
    const header = request.headers[csrfHeader];
    const cookie = readCookies(request).get(csrfCookie);
    const origin = request.headers.origin;
    const ok =
      typeof header === 'string' &&
      cookie !== undefined &&
      equal(header, cookie) &&
      equal(header, data.csrf) &&
      origin === new URL(this.config.issuer).origin;
    if (!ok)
      throw new OAuthError(
        'access_denied',
        'Refused: a console request that changes something needs the Tessera-CSRF header and a same-origin Origin',
        { status: 403 },
      );
  }

  /** Ends the session the request names; returns it when there was one. */
  async end(request: IncomingMessage): Promise<SessionData | undefined> {
    const found = await this.find(request);
    if (found) await this.store.deleteConsoleSession(found.record.id);
    return found?.data;
  }

  /** The admin caller of a request with a session cookie (the admin hook's cookie branch). */
  async authenticate(request: IncomingMessage, method: string): Promise<AdminCaller> {
    const found = await this.find(request);
    if (!found)
      throw new OAuthError('invalid_token', 'The console session ended; sign in again', {
        status: 401,
      });
    if (!['GET', 'HEAD'].includes(method)) this.checkCsrf(request, found.data);
    return callerOf(found.data);
  }
}

export function callerOf(data: SessionData): AdminCaller {
  const { person } = data;
  return {
    actor: `person:${person.email ?? person.sub}`,
    role: data.role,
    ...(data.tenantRoles && Object.keys(data.tenantRoles).length > 0
      ? { tenantRoles: data.tenantRoles }
      : {}),
    person,
    acr: data.acr,
    bearer: false,
  };
}
