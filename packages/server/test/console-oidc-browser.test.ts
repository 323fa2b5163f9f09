/**
 * People sign in to the console in a real browser through a real OpenID Provider on
 * loopback: node-oidc-provider plays the company's identity provider, with a viewer and an
 * operator in two groups. A viewer sees the clients but no Create button and gets a 403 from
 * the API; an operator creates a client and reads its secret once; the audit trail names
 * each person.
 */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import { basicAuthorization, postForm, startTessera, type TestTessera } from './support/tessera.js';

const chromium = '/usr/bin/chromium';
const required = process.env.TESSERA_TEST_BROWSER === 'require';
const skip = existsSync(chromium)
  ? false
  : `${chromium} is missing (apt-get install chromium); set TESSERA_TEST_BROWSER=require to fail instead`;
if (skip && !required) console.log(`# console OIDC browser test skipped: ${skip}`);

/** The company's directory: who is in which group. */
const people: Record<string, { email: string; groups: string[]; name: string }> = {
  alice: {
    email: 'alice@corp.example',
    name: 'Alice Viewer',
    groups: ['staff', 'tessera-viewers'],
  },
  bob: { email: 'bob@corp.example', name: 'Bob Operator', groups: ['staff', 'tessera-operators'] },
};

async function startCompanyIdp(redirectUri: () => string) {
  const server: Server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const issuer = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const { default: Provider } = await import('oidc-provider');
  const provider = new Provider(issuer, {
    clients: [
      {
        client_id: 'tessera-console',
        client_secret: 'a-long-console-client-secret',
        redirect_uris: [redirectUri()],
        grant_types: ['authorization_code'],
        response_types: ['code'],
        token_endpoint_auth_method: 'client_secret_basic',
      },
    ],
    // The groups go in the ID token, as a company IdP is set up to do for Tessera.
    claims: { openid: ['sub', 'groups'], email: ['email', 'email_verified'], profile: ['name'] },
    conformIdTokenClaims: false,
    findAccount: (_ctx: unknown, id: string) => {
      const person = people[id];
      if (!person) return undefined;
      return {
        accountId: id,
        claims: () => ({
          sub: id,
          email: person.email,
          email_verified: true,
          name: person.name,
          groups: person.groups,
        }),
      };
    },
    cookies: { keys: ['test-cookie-key-test-cookie-key'] },
    features: { devInteractions: { enabled: true } },
  });
  server.on('request', provider.callback());
  return {
    issuer,
    close: async () => {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}

describe(
  'console sign-in through a company OpenID Provider, in a real browser',
  { skip: required ? false : skip },
  () => {
    let tessera: TestTessera;
    let idp: Awaited<ReturnType<typeof startCompanyIdp>>;
    let browser: Browser;
    before(async () => {
      if (!existsSync(chromium))
        throw new Error(`${chromium} is missing and TESSERA_TEST_BROWSER=require`);
      // Tessera's port is known only once it listens, the provider's before Tessera starts:
      // reserve Tessera's port first.
      const probe = createServer();
      await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
      const port = (probe.address() as AddressInfo).port;
      await new Promise((resolve) => probe.close(resolve));
      idp = await startCompanyIdp(() => `http://127.0.0.1:${port}/console/callback`);
      tessera = await startTessera({
        port,
        consoleOidcIssuer: idp.issuer,
        consoleOidcClientId: 'tessera-console',
        consoleOidcClientSecret: 'a-long-console-client-secret',
        consoleRoles: [
          ['tessera-viewers', 'viewer'],
          ['tessera-operators', 'operator'],
        ],
      });
      const { chromium: launcher } = await import('playwright-core');
      browser = await launcher.launch({
        executablePath: chromium,
        args: [
          '--headless',
          '--no-sandbox',
          '--disable-gpu',
          '--no-first-run',
          '--disable-background-networking',
          '--disable-sync',
        ],
      });
    });
    after(async () => {
      await browser?.close();
      await tessera?.close();
      await idp?.close();
    });

    /** A fresh browser profile signs `login` in at the provider and lands on the clients view. */
    async function signIn(login: string): Promise<Page> {
      const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
      const page = await context.newPage();
      const problems: string[] = [];
      page.on('pageerror', (error) => problems.push(error.message));
      await page.goto(`${tessera.url}/console`);
      await page.getByRole('link', { name: 'Sign in with your company account' }).click();
      // node-oidc-provider's development login and consent pages.
      await page.locator('input[name="login"]').fill(login);
      await page.locator('input[name="password"]').fill('any password');
      await page.getByRole('button', { name: 'Sign-in' }).click();
      await page.getByRole('button', { name: 'Continue' }).click();
      await page.waitForURL(`${tessera.url}/console`);
      await page.getByRole('heading', { name: 'Clients' }).waitFor();
      await page.getByText(`Signed in as ${people[login]!.email}`).waitFor();
      assert.deepEqual(problems, []);
      return page;
    }

    it('a viewer sees clients, no Create button, and gets 403 from the API; an operator creates one; the audit names both', async () => {
      const existing = await tessera.createClient({ name: 'Payments API', scope: 'payments:read' });

      const viewer = await signIn('alice');
      await viewer.locator(`tr[data-client-id="${existing.clientId}"]`).waitFor();
      assert.equal(await viewer.getByRole('button', { name: 'New client' }).isVisible(), false);
      assert.equal(
        await viewer.getByRole('button', { name: 'Disable Payments API' }).isVisible(),
        false,
      );
      await viewer.getByText('Signed in as alice@corp.example (viewer)').waitFor();
      // The API itself refuses, whatever the page shows.
      const refused = await viewer.evaluate(async () => {
        const csrf = document.cookie
          .split('; ')
          .find((c) => c.startsWith('tessera_csrf='))!
          .slice(13);
        const response = await fetch('/admin/v1/clients', {
          method: 'POST',
          headers: { 'content-type': 'application/json', 'tessera-csrf': csrf },
          body: JSON.stringify({ name: 'not allowed' }),
        });
        return { status: response.status, body: await response.json() };
      });
      assert.deepEqual(refused, {
        status: 403,
        body: {
          error: 'insufficient_scope',
          error_description:
            'This needs the operator role (scope tessera:admin:write); the caller has viewer',
        },
      });
      // The session cookie is out of the page's reach.
      assert.doesNotMatch(await viewer.evaluate(() => document.cookie), /tessera_session/);
      const cookies = await viewer.context().cookies(tessera.url);
      const session = cookies.find((cookie) => cookie.name === 'tessera_session')!;
      assert.equal(session.httpOnly, true);
      assert.equal(session.sameSite, 'Strict');

      const operator = await signIn('bob');
      await operator.getByRole('button', { name: 'New client' }).click();
      const form = operator.getByRole('dialog', { name: 'New client' });
      await form.getByLabel('Name').fill('Billing service');
      await form.getByLabel(/^Scopes/).fill('billing:read');
      await form.getByRole('button', { name: 'Create' }).click();
      const secretDialog = operator.getByRole('dialog', { name: 'Client created' });
      await secretDialog.getByText('cannot be shown again').waitFor();
      const clientId = await secretDialog.getByLabel('Client ID').inputValue();
      const clientSecret = await secretDialog.getByLabel('Client secret').inputValue();
      assert.match(clientSecret, /^tsr_/);
      await secretDialog.getByRole('button', { name: 'I have stored the secret' }).click();
      await operator.waitForFunction(
        () => (document.getElementById('secret-value') as HTMLInputElement).value === '',
      );
      const issued = await postForm(
        `${tessera.url}/oauth/token`,
        { grant_type: 'client_credentials' },
        { authorization: basicAuthorization(clientId, clientSecret) },
      );
      assert.equal(issued.status, 200);
      // Shown once: the API never shows it again.
      const shown = await operator.evaluate(
        async (id) => (await fetch(`/admin/v1/clients/${id}`)).json(),
        clientId,
      );
      assert.equal((shown as Record<string, unknown>).client_secret, undefined);

      // The audit trail, in the console, names each person.
      await operator.getByRole('button', { name: 'Activity', exact: true }).click();
      const audit = operator.locator('#audit-table');
      const created = audit
        .locator('tr', { hasText: 'client.create' })
        .filter({ hasText: clientId });
      await created.getByText('person:bob@corp.example').waitFor();
      await created.getByText('127.0.0.1').waitFor();
      await audit
        .locator('tr', { hasText: 'console.sign_in' })
        .filter({ hasText: 'person:alice@corp.example' })
        .waitFor();
      const entries = await tessera.server.context.store.listAudit(20, {
        actor: 'bob@corp.example',
      });
      const entry = entries.find((e) => e.action === 'client.create')!;
      assert.deepEqual(entry.person, { iss: idp.issuer, sub: 'bob', email: 'bob@corp.example' });
      assert.match(entry.requestId ?? '', /.+/);

      // Sign-out ends the session on the server.
      await operator.getByRole('button', { name: 'Sign out' }).click();
      await operator.getByRole('heading', { name: 'Sign in' }).waitFor();
      await operator.waitForFunction(() => !document.cookie.includes('tessera_csrf='));
      const after = await operator.evaluate(async () => (await fetch('/admin/v1/clients')).status);
      assert.equal(after, 401);
    });
  },
);
