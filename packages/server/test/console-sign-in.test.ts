/**
 * The console's sign-in for people over real HTTP, against a provider on loopback whose
 * answers the test chooses (support/fake-idp.ts): cookie flags, CSRF, session expiry on an
 * injected clock, sign-out, forged and expired ID tokens, refusal of people without a role,
 * the operator list, step-up, and the audit trail naming each person.
 */
import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, it } from 'node:test';
import { ConfigError, loadConfig } from '../src/config.js';
import { startFakeIdp, type FakeIdp } from './support/fake-idp.js';
import { httpsRequest } from './support/https.js';
import { createTestPki } from './support/pki.js';
import { startTessera, type TestTessera } from './support/tessera.js';

const alice = {
  sub: 'alice-sub',
  email: 'alice@example.com',
  email_verified: true,
  groups: ['tessera-viewers'],
};
const bob = {
  sub: 'bob-sub',
  email: 'bob@example.com',
  email_verified: true,
  groups: ['staff', 'tessera-operators'],
};

/** One browser's cookie jar, enough for these requests. */
class Jar {
  readonly cookies = new Map<string, string>();
  take(response: Response): string[] {
    const set = response.headers.getSetCookie();
    for (const line of set) {
      const [pair] = line.split(';', 1);
      const at = pair!.indexOf('=');
      const [name, value] = [pair!.slice(0, at), pair!.slice(at + 1)];
      if (/Max-Age=0/.test(line)) this.cookies.delete(name);
      else this.cookies.set(name, value);
    }
    return set;
  }
  get header(): string {
    return [...this.cookies].map(([name, value]) => `${name}=${value}`).join('; ');
  }
}

describe('console sign-in with OpenID Connect', () => {
  let idp: FakeIdp;
  let tessera: TestTessera;
  let now = 1_900_000_000;
  before(async () => {
    idp = await startFakeIdp(() => now);
    tessera = await startTessera({
      nowSeconds: () => now,
      consoleOidcIssuer: idp.issuer,
      consoleOidcClientId: idp.clientId,
      consoleOidcClientSecret: idp.clientSecret,
      consoleRoles: [
        ['tessera-viewers', 'viewer'],
        ['tessera-operators', 'operator'],
        ['tessera-admins', 'admin'],
      ],
    });
  });
  after(async () => {
    await tessera?.close();
    await idp?.close();
  });
  beforeEach(() => {
    idp.mode = 'valid';
  });

  /** The browser's round trip: Tessera → provider → callback; returns the callback's answer. */
  async function signIn(user: typeof idp.user, jar = new Jar()) {
    idp.user = user;
    const start = await fetch(`${tessera.url}/console/sign-in`, { redirect: 'manual' });
    assert.equal(start.status, 302);
    const startCookies = jar.take(start);
    const atProvider = await fetch(start.headers.get('location')!, { redirect: 'manual' });
    assert.equal(atProvider.status, 302);
    const callback = atProvider.headers.get('location')!;
    assert.ok(callback.startsWith(`${tessera.url}/console/callback?`));
    const answer = await fetch(callback, { headers: { cookie: jar.header }, redirect: 'manual' });
    const cookies = jar.take(answer);
    return { answer, cookies, startCookies, jar, text: await answer.text(), callback };
  }

  const call = (
    jar: Jar,
    method: string,
    path: string,
    init: { body?: unknown; headers?: Record<string, string> } = {},
  ) =>
    fetch(`${tessera.url}${path}`, {
      method,
      headers: {
        cookie: jar.header,
        ...(init.body === undefined ? {} : { 'content-type': 'application/json' }),
        ...init.headers,
      },
      ...(init.body === undefined ? {} : { body: JSON.stringify(init.body) }),
    });
  const csrf = (jar: Jar) => ({
    'tessera-csrf': jar.cookies.get('tessera_csrf')!,
    origin: tessera.url,
  });

  it('sends the browser to the provider with PKCE, state and nonce, and sets HttpOnly, SameSite cookies', async () => {
    const { answer, cookies, startCookies } = await signIn(alice);
    const query = idp.lastAuthorization!;
    assert.equal(query.get('response_type'), 'code');
    assert.equal(query.get('redirect_uri'), `${tessera.url}/console/callback`);
    assert.equal(query.get('code_challenge_method'), 'S256');
    assert.match(query.get('code_challenge')!, /^[\w-]{43}$/);
    assert.match(query.get('state')!, /^[\w-]{20,}$/);
    assert.match(query.get('nonce')!, /^[\w-]{20,}$/);
    assert.equal(query.get('scope'), 'openid email profile');
    assert.equal(query.get('acr_values'), null);
    assert.equal(startCookies.length, 1);
    assert.match(
      startCookies[0]!,
      /^tessera_sign_in=[\w-]{43}; Path=\/console\/callback; Max-Age=600; HttpOnly; SameSite=Lax$/,
    );
    assert.equal(answer.status, 303);
    assert.equal(answer.headers.get('location'), '/console');
    assert.equal(answer.headers.get('cache-control'), 'no-store');
    // Plain HTTP here: no Secure flag (over TLS it is set: 'console sign-in over TLS').
    assert.match(cookies[0]!, /^tessera_session=[\w-]{43}; Path=\/; HttpOnly; SameSite=Strict$/);
    assert.match(cookies[1]!, /^tessera_csrf=[\w-]{43}; Path=\/; SameSite=Strict$/);
    assert.match(
      cookies[2]!,
      /^tessera_sign_in=; Path=\/console\/callback; Max-Age=0; HttpOnly; SameSite=Lax$/,
    );
  });

  it('a viewer reads clients but gets 403 naming the operator role for a change', async () => {
    const { jar } = await signIn(alice);
    const session = await (await call(jar, 'GET', '/console/session')).json();
    assert.deepEqual(session, {
      sign_in: { oidc: true, secret: true },
      session: {
        actor: 'person:alice@example.com',
        role: 'viewer',
        person: { iss: idp.issuer, sub: 'alice-sub', email: 'alice@example.com' },
        acr: null,
      },
    });
    assert.equal((await call(jar, 'GET', '/admin/v1/clients')).status, 200);
    const refused = await call(jar, 'POST', '/admin/v1/clients', {
      body: { name: 'x' },
      headers: csrf(jar),
    });
    assert.equal(refused.status, 403);
    assert.deepEqual(await refused.json(), {
      error: 'insufficient_scope',
      error_description:
        'This needs the operator role (scope tessera:admin:write); the caller has viewer',
    });
    assert.equal(refused.headers.get('www-authenticate'), null);
  });

  it('refuses a state-changing request without the CSRF header, with another value, or from another origin', async () => {
    const { jar } = await signIn(bob);
    const attempt = (headers: Record<string, string>) =>
      call(jar, 'POST', '/admin/v1/clients', { body: { name: 'csrf' }, headers });
    const refusal = {
      error: 'access_denied',
      error_description:
        'Refused: a console request that changes something needs the Tessera-CSRF header and a same-origin Origin',
    };
    for (const headers of [
      {} as Record<string, string>,
      { origin: tessera.url },
      { ...csrf(jar), 'tessera-csrf': 'x'.repeat(43) },
      { ...csrf(jar), origin: 'http://evil.example' },
      { 'tessera-csrf': csrf(jar)['tessera-csrf'] },
    ]) {
      const response = await attempt(headers);
      assert.equal(response.status, 403, JSON.stringify(headers));
      assert.deepEqual(await response.json(), refusal);
    }
    // The header matching a forged cookie is not enough: it must be the session's.
    const forged = await fetch(`${tessera.url}/admin/v1/clients`, {
      method: 'POST',
      headers: {
        cookie: `tessera_session=${jar.cookies.get('tessera_session')}; tessera_csrf=${'y'.repeat(43)}`,
        'tessera-csrf': 'y'.repeat(43),
        origin: tessera.url,
        'content-type': 'application/json',
      },
      body: '{"name":"forged"}',
    });
    assert.equal(forged.status, 403);
    const created = await attempt(csrf(jar));
    assert.equal(created.status, 201);
    const { client_secret } = (await created.json()) as { client_secret: string };
    assert.match(client_secret, /^tsr_/);
  });

  it('ends a session after the idle time and after the maximum lifetime, on the injected clock', async () => {
    const { jar } = await signIn(alice);
    now += 1799;
    assert.equal((await call(jar, 'GET', '/admin/v1/clients')).status, 200);
    now += 1800;
    const idle = await call(jar, 'GET', '/admin/v1/clients');
    assert.equal(idle.status, 401);
    assert.deepEqual(await idle.json(), {
      error: 'invalid_token',
      error_description: 'The console session ended; sign in again',
    });
    // Active all along, it still ends 43200 s after sign-in.
    const second = (await signIn(alice)).jar;
    const signedInAt = now;
    while (now + 1500 < signedInAt + 43200) {
      now += 1500;
      assert.equal((await call(second, 'GET', '/admin/v1/clients')).status, 200);
    }
    now = signedInAt + 43200;
    assert.equal((await call(second, 'GET', '/admin/v1/clients')).status, 401);
  });

  it('signs out server-side: the old cookie no longer works', async () => {
    const { jar } = await signIn(bob);
    const stolen = jar.header;
    const withoutCsrf = await call(jar, 'POST', '/console/sign-out');
    assert.equal(withoutCsrf.status, 403);
    const out = await call(jar, 'POST', '/console/sign-out', { headers: csrf(jar) });
    assert.equal(out.status, 204);
    const cleared = jar.take(out);
    assert.deepEqual(cleared, [
      'tessera_session=; Path=/; Max-Age=0; HttpOnly; SameSite=Strict',
      'tessera_csrf=; Path=/; Max-Age=0; SameSite=Strict',
    ]);
    const replay = await fetch(`${tessera.url}/admin/v1/clients`, { headers: { cookie: stolen } });
    assert.equal(replay.status, 401);
  });

  it('refuses a forged ID token, an expired one, another audience and another nonce', async () => {
    for (const [mode, code] of [
      ['forged', 'id_token_signature_invalid'],
      ['expired', 'OAUTH_JWT_TIMESTAMP_CHECK_FAILED'],
      ['wrong-audience', 'OAUTH_JWT_CLAIM_COMPARISON_FAILED'],
      ['wrong-nonce', 'OAUTH_JWT_CLAIM_COMPARISON_FAILED'],
    ] as const) {
      idp.mode = mode;
      const { answer, cookies, text } = await signIn(bob);
      assert.equal(answer.status, 400, mode);
      assert.match(answer.headers.get('content-type')!, /^text\/html/);
      assert.ok(text.includes(`could not be verified (${code})`), `${mode}: ${text}`);
      assert.ok(!cookies.some((cookie) => cookie.startsWith('tessera_session=')), mode);
    }
  });

  it('uses a sign-in once, and only in the browser that started it', async () => {
    const { callback, jar } = await signIn(alice);
    const again = await fetch(callback, { headers: { cookie: jar.header }, redirect: 'manual' });
    assert.equal(again.status, 400);
    assert.ok((await again.text()).includes('Sign-in expired'));
    // The provider's redirect reaching a browser without the sign-in cookie.
    idp.user = alice;
    const start = await fetch(`${tessera.url}/console/sign-in`, { redirect: 'manual' });
    const atProvider = await fetch(start.headers.get('location')!, { redirect: 'manual' });
    const elsewhere = await fetch(atProvider.headers.get('location')!, { redirect: 'manual' });
    assert.equal(elsewhere.status, 400);
    assert.equal(
      elsewhere.headers.getSetCookie().some((c) => c.startsWith('tessera_session=')),
      false,
    );
  });

  it('refuses a person whose groups map to no role with a page saying so', async () => {
    const { answer, cookies, text } = await signIn({
      sub: 'carol-sub',
      email: 'carol@example.com',
      email_verified: true,
      groups: ['staff'],
    });
    assert.equal(answer.status, 403);
    assert.ok(text.includes('No access to Tessera'));
    assert.ok(text.includes('carol@example.com'));
    assert.ok(!cookies.some((cookie) => cookie.startsWith('tessera_session=')));
  });

  it("gives a role from Tessera's operator list, only for a verified email", async () => {
    await tessera.server.context.store.putOperator({
      email: 'dave@example.com',
      role: 'operator',
      createdAt: now,
    });
    const unverified = await signIn({
      sub: 'dave-sub',
      email: 'dave@example.com',
      email_verified: false,
    });
    assert.equal(unverified.answer.status, 403);
    const { answer, jar } = await signIn({
      sub: 'dave-sub',
      email: 'dave@example.com',
      email_verified: true,
    });
    assert.equal(answer.status, 303);
    const session = (await (await call(jar, 'GET', '/console/session')).json()) as {
      session: { role: string };
    };
    assert.equal(session.session.role, 'operator');
    // The list applies to the open session at once: downgraded, then removed.
    await tessera.server.context.store.putOperator({
      email: 'dave@example.com',
      role: 'viewer',
      createdAt: now,
    });
    const downgraded = await call(jar, 'POST', '/admin/v1/clients', {
      body: { name: 'x' },
      headers: csrf(jar),
    });
    assert.equal(downgraded.status, 403);
    assert.equal((await call(jar, 'GET', '/admin/v1/clients')).status, 200);
    await tessera.server.context.store.removeOperator('dave@example.com');
    assert.equal((await call(jar, 'GET', '/admin/v1/clients')).status, 401);
  });

  it('records each person, their address and the request id in the audit trail', async () => {
    const { jar } = await signIn(bob);
    const created = await call(jar, 'POST', '/admin/v1/clients', {
      body: { name: 'audited' },
      headers: csrf(jar),
    });
    assert.equal(created.status, 201);
    const requestId = created.headers.get('x-request-id');
    const { client_id } = (await created.json()) as { client_id: string };
    const audit = (await (await call(jar, 'GET', '/admin/v1/audit?limit=10')).json()) as {
      entries: Array<Record<string, unknown>>;
    };
    const entry = audit.entries.find(
      (e) => e.action === 'client.create' && e.target === client_id,
    )!;
    assert.deepEqual(
      { ...entry, id: undefined, at: undefined, details: undefined },
      {
        id: undefined,
        at: undefined,
        details: undefined,
        actor: 'person:bob@example.com',
        action: 'client.create',
        target: client_id,
        person: { iss: idp.issuer, sub: 'bob-sub', email: 'bob@example.com' },
        source_address: '127.0.0.1',
        request_id: requestId,
      },
    );
    const signIns = audit.entries.filter((e) => e.action === 'console.sign_in');
    assert.ok(signIns.some((e) => e.actor === 'person:bob@example.com'));
    const mine = await tessera.server.context.store.listAudit(100, { actor: 'bob@example.com' });
    assert.ok(mine.length >= 2);
    assert.ok(mine.every((e) => e.person?.email === 'bob@example.com'));
  });
});

describe('console sign-in: step-up with --console-require-acr', () => {
  let idp: FakeIdp;
  let tessera: TestTessera;
  before(async () => {
    idp = await startFakeIdp(() => Math.floor(Date.now() / 1000));
    tessera = await startTessera({
      consoleOidcIssuer: idp.issuer,
      consoleOidcClientId: idp.clientId,
      consoleOidcClientSecret: idp.clientSecret,
      consoleRoles: [['tessera-admins', 'admin']],
      consoleRequireAcr: 'urn:example:mfa',
      consoleSecretSignIn: false,
    });
  });
  after(async () => {
    await tessera?.close();
    await idp?.close();
  });

  it('asks for the acr and refuses admin actions to a session without it', async () => {
    const run = async (acr?: string) => {
      idp.user = {
        sub: 'erin',
        email: 'erin@example.com',
        email_verified: true,
        groups: ['tessera-admins'],
        ...(acr ? { acr } : {}),
      };
      const jar = new Map<string, string>();
      const start = await fetch(`${tessera.url}/console/sign-in`, { redirect: 'manual' });
      const signInCookie = start.headers.getSetCookie()[0]!.split(';', 1)[0]!;
      const atProvider = await fetch(start.headers.get('location')!, { redirect: 'manual' });
      const back = await fetch(atProvider.headers.get('location')!, {
        headers: { cookie: signInCookie },
        redirect: 'manual',
      });
      assert.equal(back.status, 303);
      for (const line of back.headers.getSetCookie()) {
        const [pair] = line.split(';', 1);
        const [name, value] = pair!.split('=');
        if (value) jar.set(name!, value);
      }
      return fetch(`${tessera.url}/admin/v1/keys/rotate`, {
        method: 'POST',
        headers: {
          cookie: [...jar].map(([n, v]) => `${n}=${v}`).join('; '),
          'tessera-csrf': jar.get('tessera_csrf')!,
          origin: tessera.url,
          'content-type': 'application/json',
        },
        body: '{}',
      });
    };
    const without = await run();
    assert.equal(idp.lastAuthorization!.get('acr_values'), 'urn:example:mfa');
    assert.equal(without.status, 403);
    assert.deepEqual(await without.json(), {
      error: 'insufficient_scope',
      error_description:
        'This needs the admin role signed in with acr urn:example:mfa; sign in again',
    });
    assert.equal((await run('urn:example:mfa')).status, 201);
    const session = (await (await fetch(`${tessera.url}/console/session`)).json()) as object;
    assert.deepEqual(session, { sign_in: { oidc: true, secret: false }, session: null });
  });
});

describe('console sign-in over TLS', () => {
  it('marks every console cookie Secure', async () => {
    const pki = await createTestPki();
    const idp = await startFakeIdp(() => Math.floor(Date.now() / 1000));
    const tessera = await startTessera({
      tlsCert: pki.server.certFile,
      tlsKey: pki.server.keyFile,
      consoleOidcIssuer: idp.issuer,
      consoleOidcClientId: idp.clientId,
      consoleOidcClientSecret: idp.clientSecret,
      consoleRoles: [['ops', 'operator']],
    });
    try {
      assert.ok(tessera.url.startsWith('https://'));
      idp.user = { sub: 'frank', groups: ['ops'] };
      const start = await httpsRequest(`${tessera.url}/console/sign-in`, { ca: pki.ca });
      const [signInCookie] = start.headers['set-cookie'] as string[];
      assert.match(signInCookie!, /; Max-Age=600; HttpOnly; Secure; SameSite=Lax$/);
      const atProvider = await fetch(start.headers.location as string, { redirect: 'manual' });
      const back = await httpsRequest(atProvider.headers.get('location')!, {
        ca: pki.ca,
        headers: { cookie: signInCookie!.split(';', 1)[0]! },
      });
      assert.equal(back.status, 303);
      const [session, csrf] = back.headers['set-cookie'] as string[];
      assert.match(
        session!,
        /^tessera_session=[\w-]{43}; Path=\/; HttpOnly; Secure; SameSite=Strict$/,
      );
      assert.match(csrf!, /^tessera_csrf=[\w-]{43}; Path=\/; Secure; SameSite=Strict$/);
    } finally {
      await tessera.close();
      await idp.close();
      await pki.close();
    }
  });
});

describe('console sign-in settings', () => {
  it('accepts an http:// provider only on a loopback host, and needs the client_id with it', () => {
    const base = { TESSERA_CONSOLE_OIDC_CLIENT_ID: 'c' };
    for (const issuer of [
      'http://127.0.0.1:9000',
      'http://localhost:9000',
      'http://[::1]:9000',
      'https://idp.example.com/realms/x',
    ])
      assert.equal(
        loadConfig({ ...base, TESSERA_CONSOLE_OIDC_ISSUER: issuer }).consoleOidcIssuer,
        issuer,
      );
    assert.throws(
      () => loadConfig({ ...base, TESSERA_CONSOLE_OIDC_ISSUER: 'http://idp.example.com' }),
      (error: unknown) =>
        error instanceof ConfigError && /http only on a loopback host/.test(error.message),
    );
    assert.throws(
      () => loadConfig({ TESSERA_CONSOLE_OIDC_ISSUER: 'https://idp.example.com' }),
      /go together/,
    );
    assert.deepEqual(
      loadConfig({ TESSERA_CONSOLE_ROLES: 'ops=operator, auditors=viewer' }).consoleRoles,
      [
        ['ops', 'operator'],
        ['auditors', 'viewer'],
      ],
    );
    assert.throws(() => loadConfig({ TESSERA_CONSOLE_ROLES: 'ops=root' }), /GROUP=ROLE/);
    const defaults = loadConfig({});
    assert.equal(defaults.consoleSessionIdle, 1800);
    assert.equal(defaults.consoleSessionMax, 43200);
    assert.equal(defaults.consoleOidcRolesClaim, 'groups');
    assert.equal(defaults.consoleSecretSignIn, true);
  });
});
