import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import type { BrowserContext, Page } from 'playwright-core';
import { ClientRegistry } from '../src/registry/client-registry.js';
import { tenantWithClient } from './support/tenants.js';
import { basicAuthorization, postForm, startTessera, type TestTessera } from './support/tessera.js';

const chromium = '/usr/bin/chromium';
const required = process.env.TESSERA_TEST_BROWSER === 'require';
// The README's pictures are refreshed only on request, so a test run leaves the tree clean.
const screenshots = fileURLToPath(
  new URL(
    process.env.TESSERA_UPDATE_SCREENSHOTS
      ? '../../../docs/screenshots/'
      : '../../../test-artifacts/screenshots/',
    import.meta.url,
  ),
);
const skip = existsSync(chromium)
  ? false
  : `${chromium} is missing (apt-get install chromium); set TESSERA_TEST_BROWSER=require to fail instead`;
if (skip && !required) console.log(`# console browser test skipped: ${skip}`);

describe('admin console assets', () => {
  let tessera: TestTessera;
  before(async () => {
    tessera = await startTessera();
  });
  after(() => tessera.close());

  it('serves the console with its content types and a strict Content-Security-Policy', async () => {
    for (const [path, type] of [
      ['/console', 'text/html; charset=utf-8'],
      ['/console/index.html', 'text/html; charset=utf-8'],
      ['/console/main.js', 'text/javascript; charset=utf-8'],
      ['/console/api.js', 'text/javascript; charset=utf-8'],
      ['/console/dom.js', 'text/javascript; charset=utf-8'],
      ['/console/clients.js', 'text/javascript; charset=utf-8'],
      ['/console/keys.js', 'text/javascript; charset=utf-8'],
      ['/console/activity.js', 'text/javascript; charset=utf-8'],
      ['/console/dialogs.js', 'text/javascript; charset=utf-8'],
      ['/console/claims-field.js', 'text/javascript; charset=utf-8'],
      ['/console/console.css', 'text/css; charset=utf-8'],
      ['/console/favicon.svg', 'image/svg+xml'],
    ] as const) {
      const response = await fetch(`${tessera.url}${path}`);
      assert.equal(response.status, 200, path);
      assert.equal(response.headers.get('content-type'), type, path);
      assert.match(response.headers.get('content-security-policy') ?? '', /^default-src 'self';/);
      assert.equal(response.headers.get('x-content-type-options'), 'nosniff');
      await response.arrayBuffer();
    }
    const html = await (await fetch(`${tessera.url}/console`)).text();
    assert.doesNotMatch(html, /<script>|<script(?![^>]*\bsrc=)[^>]*>|\son[a-z]+=|style=/i);
    assert.doesNotMatch(html, /(src|href)="(https?:)?\/\//, 'no CDN or other host');
    const missing = await fetch(`${tessera.url}/console/../package.json`);
    assert.equal(missing.status, 404);
    assert.equal((await fetch(`${tessera.url}/console/nope.js`)).status, 404);
    assert.equal((await fetch(`${tessera.url}/console/tsconfig.json`)).status, 404);
  });
});

describe('admin console in a real browser', { skip: required ? false : skip }, () => {
  let tessera: TestTessera;
  let profile: string;
  let browser: BrowserContext;
  before(async () => {
    if (!existsSync(chromium))
      throw new Error(`${chromium} is missing and TESSERA_TEST_BROWSER=require`);
    const { chromium: launcher } = await import('playwright-core');
    tessera = await startTessera();
    profile = await mkdtemp(join(tmpdir(), 'tessera-chromium-'));
    browser = await launcher.launchPersistentContext(profile, {
      executablePath: chromium,
      viewport: { width: 1440, height: 900 },
      args: [
        '--headless',
        '--no-sandbox',
        '--disable-gpu',
        '--disable-quic',
        '--no-first-run',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
      ],
    });
    await mkdir(screenshots, { recursive: true });
  });
  after(async () => {
    await browser?.close();
    await tessera?.close();
    if (profile) await rm(profile, { recursive: true, force: true });
  });

  /** The console in a new page, its page errors collected in `problems`. */
  const consolePage = async () => {
    const page = await browser.newPage();
    const problems: string[] = [];
    page.on('pageerror', (error) => problems.push(error.message));
    await page.goto(`${tessera.url}/console`);
    return { page, problems };
  };
  /** Signs in with an admin client's secret, at `tenant` when one is given. */
  const signInWithSecret = async (
    page: Page,
    clientId: string,
    secret: string,
    tenant?: string,
  ) => {
    const signIn = page.locator('#sign-in-form');
    await signIn.getByLabel('Client ID').fill(clientId);
    await signIn.getByLabel('Client secret').fill(secret);
    if (tenant !== undefined) await signIn.getByLabel('Tenant').fill(tenant);
    await signIn.getByLabel('Client secret').press('Enter');
  };
  /** Creates a client through the New client dialog; the credentials the console showed once. */
  const createClientInConsole = async (page: Page, name: string) => {
    await page.getByRole('button', { name: 'New client' }).click();
    const form = page.getByRole('dialog', { name: 'New client' });
    await form.getByLabel('Name').fill(name);
    await form.getByRole('button', { name: 'Create' }).click();
    const secretDialog = page.getByRole('dialog', { name: 'Client created' });
    await secretDialog.waitFor();
    const created = {
      clientId: await secretDialog.getByLabel('Client ID').inputValue(),
      clientSecret: await secretDialog.getByLabel('Client secret').inputValue(),
    };
    await secretDialog.getByRole('button', { name: 'I have stored the secret' }).click();
    return created;
  };
  /** A client_credentials token request with Basic authentication at `path` of the server. */
  const tokenAtPath = (path: string, client: { clientId: string; clientSecret: string }) =>
    postForm(
      `${tessera.url}${path}`,
      { grant_type: 'client_credentials' },
      { authorization: basicAuthorization(client.clientId, client.clientSecret) },
    );

  it('signs in, creates a client, shows its secret once, and disables it', async () => {
    const admin = await tessera.createClient({
      name: 'Operations console',
      scope: 'tessera:admin',
    });
    const context = browser;
    const page = await context.newPage();
    const problems: string[] = [];
    page.on('console', (message) => {
      // The deliberate wrong sign-in's 401 is logged by Chromium too; anything else counts.
      const expected = message.text().includes('status of 401 (Unauthorized)');
      if (message.type() === 'error' && !expected) problems.push(message.text());
    });
    page.on('pageerror', (error) => problems.push(error.message));
    const tokenUrl = `${tessera.url}/oauth/token`;
    const tokenFor = (clientId: string, secret: string) =>
      postForm(
        tokenUrl,
        { grant_type: 'client_credentials' },
        { authorization: basicAuthorization(clientId, secret) },
      );

    // Some traffic for the tables and charts.
    const partner = await tessera.createClient({
      name: 'Payments API',
      scope: 'payments:read payments:write',
      audience: 'https://payments.example.com',
    });
    await tessera.createClient({ name: 'Reporting job', scope: 'reports:read' });
    for (let i = 0; i < 12; i += 1)
      assert.equal((await tokenFor(partner.clientId, partner.clientSecret)).status, 200);
    for (let i = 0; i < 3; i += 1)
      assert.equal((await tokenFor(partner.clientId, 'tsr_wrong')).status, 401);

    await page.goto(`${tessera.url}/console`);
    const signIn = page.locator('#sign-in-form');
    await signIn.getByLabel('Client ID').fill(admin.clientId);
    await signIn.getByLabel('Client secret').fill('tsr_not-the-secret');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByText('Sign-in failed: unknown client or wrong secret.').waitFor();
    await signIn.getByLabel('Client secret').fill(admin.clientSecret);
    await page.screenshot({ path: join(screenshots, 'console-sign-in.png') });
    await signIn.getByLabel('Client secret').press('Enter');
    await page.getByRole('heading', { name: 'Clients' }).waitFor();
    await page.locator(`tr[data-client-id="${partner.clientId}"]`).waitFor();

    // Create a client; its secret is shown once.
    await page.getByRole('button', { name: 'New client' }).click();
    const form = page.getByRole('dialog', { name: 'New client' });
    await form.getByLabel('Name').fill('Billing service');
    await form.getByLabel(/^Scopes/).fill('billing:read billing:write');
    await form.getByLabel(/^Audience/).fill('https://billing.example.com');
    await form.getByLabel(/^Token lifetime/).fill('900');
    await form.getByRole('button', { name: 'Create' }).click();
    const secretDialog = page.getByRole('dialog', { name: 'Client created' });
    await secretDialog.waitFor();
    await secretDialog.getByText('cannot be shown again').waitFor();
    const clientId = await secretDialog.getByLabel('Client ID').inputValue();
    const clientSecret = await secretDialog.getByLabel('Client secret').inputValue();
    assert.match(clientSecret, /^tsr_/);
    // The screenshot is committed: show a placeholder instead of even a throwaway secret.
    await page.evaluate(() => {
      const input = document.getElementById('secret-value') as HTMLInputElement;
      input.value = 'tsr_•••••••••••••••• (hidden in screenshots)';
    });
    await page.screenshot({ path: join(screenshots, 'console-new-secret.png') });
    await secretDialog.getByRole('button', { name: 'I have stored the secret' }).click();
    // The secret leaves the page with its dialog.
    await page.waitForFunction(
      () => (document.getElementById('secret-value') as HTMLInputElement).value === '',
    );

    // The secret works at the token endpoint.
    const issued = await tokenFor(clientId, clientSecret);
    assert.equal(issued.status, 200);
    assert.equal((issued.body as { expires_in: number }).expires_in, 900);

    // Search, then disable with confirmation: its token requests fail.
    await page.getByLabel('Search clients').fill('billing');
    const row = page.locator(`tr[data-client-id="${clientId}"]`);
    await row.getByText('active', { exact: true }).waitFor();
    assert.equal(await page.locator('#clients-table tbody tr').count(), 1);
    await row.getByRole('button', { name: 'Disable Billing service' }).click();
    await page
      .getByRole('dialog', { name: 'Are you sure?' })
      .getByRole('button', { name: 'Disable' })
      .click();
    await row.getByText('disabled', { exact: true }).waitFor();
    const refused = await tokenFor(clientId, clientSecret);
    assert.equal(refused.status, 401);
    assert.deepEqual(refused.body, {
      error: 'invalid_client',
      error_description: 'Client authentication failed',
    });
    await page.getByLabel('Search clients').fill('');
    await page.locator(`tr[data-client-id="${clientId}"] td.num`).first().getByText('1').waitFor();
    await page.screenshot({ path: join(screenshots, 'console-clients.png') });

    // Issue 25: a secretless (federated) client held to no profile, from the same form.
    await page.getByRole('button', { name: 'New client' }).click();
    await form.getByLabel('Name').fill('Ledger workload');
    await form.getByLabel('Authentication method').selectOption('federated');
    await form.getByLabel(/^Workload issuer/).fill('https://kubernetes.example.com');
    await form.getByLabel(/^Workload subject/).fill('system:serviceaccount:payments:ledger');
    await form.getByRole('button', { name: 'Create' }).click();
    await page.getByText('Created Ledger workload.').waitFor();
    const federated = (await tessera.registry.list()).find((c) => c.name === 'Ledger workload');
    assert.equal(federated?.authMethod, 'federated');
    assert.deepEqual(federated?.authConfig, {
      federatedIssuer: 'https://kubernetes.example.com',
      federatedSubject: 'system:serviceaccount:payments:ledger',
    });
    assert.equal(federated?.secrets.length, 0);

    // Keys: the timeline shows the active key.
    await page.getByRole('button', { name: 'Keys', exact: true }).click();
    await page.getByRole('img', { name: /Key timeline: .* active/ }).waitFor();
    await page.getByRole('button', { name: 'Rotate key' }).click();
    await page.getByLabel(/^Propagation delay/).fill('3600');
    await page.getByRole('button', { name: 'Publish new key' }).click();
    await page.getByRole('img', { name: /published/ }).waitFor();
    await page.screenshot({ path: join(screenshots, 'console-keys.png') });

    // Activity: overall and per client, plus the audit trail.
    await page.getByRole('button', { name: 'Activity', exact: true }).click();
    await page.getByRole('img', { name: /^14 tokens issued for all clients/ }).waitFor();
    await page.getByRole('img', { name: /^5 authentication failures for all clients/ }).waitFor();
    await page.locator('#audit-table').getByText('client.disable').waitFor();
    await page.screenshot({ path: join(screenshots, 'console-activity.png'), fullPage: true });
    await page
      .locator('#activity-view')
      .getByLabel('Client', { exact: true })
      .selectOption(partner.clientId);
    await page
      .getByRole('img', { name: new RegExp(`^12 tokens issued for ${partner.clientId}`) })
      .waitFor();

    // The token lived in memory only.
    const stored = await page.evaluate(() => ({
      local: localStorage.length,
      session: sessionStorage.length,
      cookie: document.cookie,
    }));
    assert.deepEqual(stored, { local: 0, session: 0, cookie: '' });
    assert.deepEqual(await context.cookies(), []);
    // Keyboard only: signing out puts focus in the sign-in form; type, Tab, type, Enter.
    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.getByRole('heading', { name: 'Sign in' }).waitFor();
    await page.keyboard.press('Control+A');
    await page.keyboard.type(admin.clientId);
    await page.keyboard.press('Tab');
    await page.keyboard.type(admin.clientSecret);
    await page.keyboard.press('Enter');
    await page.getByRole('heading', { name: 'Clients' }).waitFor();
    await page.reload();
    await page.getByRole('heading', { name: 'Sign in' }).waitFor();

    assert.deepEqual(problems, [], 'no script errors or CSP violations');
  });

  it('sets and edits a client’s token claims in the client form (issue 19)', async () => {
    const admin = await tessera.createClient({ name: 'Claims admin', scope: 'tessera:admin' });
    const introspector = await tessera.createClient({ scope: 'tessera:introspect' });
    const page = await browser.newPage();
    const problems: string[] = [];
    page.on('pageerror', (error) => problems.push(error.message));
    page.on('console', (message) => {
      // The refused create's 400 is logged by Chromium too; anything else counts.
      const expected = message.text().includes('status of 400 (Bad Request)');
      if (message.type() === 'error' && !expected) problems.push(message.text());
    });
    await page.goto(`${tessera.url}/console`);
    const signIn = page.locator('#sign-in-form');
    await signIn.getByLabel('Client ID').fill(admin.clientId);
    await signIn.getByLabel('Client secret').fill(admin.clientSecret);
    await signIn.getByLabel('Client secret').press('Enter');
    await page.getByRole('heading', { name: 'Clients' }).waitFor();

    await page.getByRole('button', { name: 'New client' }).click();
    const form = page.getByRole('dialog', { name: 'New client' });
    await form.getByLabel('Name').fill('Merchant gateway');
    await form.getByLabel(/^Token claims/).fill('{"merchant": "m-7", "aud": "x"}');
    await form.getByRole('button', { name: 'Create' }).click();
    await form.getByText('claims must not set aud: Tessera owns that claim').waitFor();
    await form.getByLabel(/^Token claims/).fill('not json');
    await form.getByRole('button', { name: 'Create' }).click();
    await form.getByText('Claims must be JSON').waitFor();
    await form.getByLabel(/^Token claims/).fill('{"merchant": "m-7", "limits": {"daily": 500}}');
    await form.getByRole('button', { name: 'Create' }).click();
    const secretDialog = page.getByRole('dialog', { name: 'Client created' });
    await secretDialog.waitFor();
    const clientId = await secretDialog.getByLabel('Client ID').inputValue();
    const clientSecret = await secretDialog.getByLabel('Client secret').inputValue();
    await secretDialog.getByRole('button', { name: 'I have stored the secret' }).click();

    const tokenClaims = async () => {
      const issued = await postForm(
        `${tessera.url}/oauth/token`,
        { grant_type: 'client_credentials' },
        { authorization: basicAuthorization(clientId, clientSecret) },
      );
      assert.equal(issued.status, 200);
      const token = (issued.body as { access_token: string }).access_token;
      const introspected = await postForm(
        `${tessera.url}/oauth/introspect`,
        { token },
        { authorization: basicAuthorization(introspector.clientId, introspector.clientSecret) },
      );
      const payload = JSON.parse(Buffer.from(token.split('.')[1]!, 'base64url').toString());
      return { payload, introspected: introspected.body as Record<string, unknown> };
    };
    const first = await tokenClaims();
    assert.equal(first.payload.merchant, 'm-7');
    assert.deepEqual(first.payload.limits, { daily: 500 });
    assert.equal(first.introspected.merchant, 'm-7');

    // Edit: the form shows the claims; saving replaces them.
    const row = page.locator(`tr[data-client-id="${clientId}"]`);
    await row.getByRole('button', { name: 'Edit Merchant gateway' }).click();
    const edit = page.getByRole('dialog', { name: 'Edit client' });
    const shown = JSON.parse(await edit.getByLabel(/^Token claims/).inputValue());
    assert.deepEqual(shown, { merchant: 'm-7', limits: { daily: 500 } });
    await edit.getByLabel(/^Token claims/).fill('{"merchant": "m-8"}');
    await edit.getByRole('button', { name: 'Save' }).click();
    await page.getByText('Saved Merchant gateway.').waitFor();
    const second = await tokenClaims();
    assert.equal(second.payload.merchant, 'm-8');
    assert.equal(second.payload.limits, undefined);
    assert.equal(second.introspected.merchant, 'm-8');
    assert.deepEqual(problems, [], 'no script errors or CSP violations');
  });

  it('pages through a registry bigger than one page, and searches clients not loaded yet', async () => {
    const admin = await tessera.createClient({ name: 'Paging console', scope: 'tessera:admin' });
    const now = Math.floor(Date.now() / 1000);
    // 1,500 clients created after every other, so the last ones are on the second page.
    await tessera.server.context.store.importClients(
      Array.from({ length: 1_500 }, (_, i) => ({
        clientId: `bulk-${String(i).padStart(4, '0')}`,
        name: `Bulk partner ${i}`,
        status: 'active' as const,
        scopes: [],
        audiences: [],
        tokenTtl: null,
        authMethod: 'any' as const,
        authConfig: {},
        grantTypes: ['client_credentials'],
        secrets: [],
        createdAt: now + 60,
        updatedAt: now + 60,
      })),
    );
    const { page, problems } = await consolePage();
    await signInWithSecret(page, admin.clientId, admin.clientSecret);
    await page.getByRole('heading', { name: 'Clients' }).waitFor();
    await page.getByRole('button', { name: 'Load more clients' }).waitFor();
    assert.equal(await page.locator('#clients-table tbody tr').count(), 1_000);
    assert.match((await page.locator('#client-count').textContent()) ?? '', /^1000 of 1000\+$/);

    // Not loaded yet: found by the server's prefix search.
    await page.getByLabel('Search clients').fill('Bulk partner 1499');
    await page.locator('tr[data-client-id="bulk-1499"]').waitFor();
    assert.equal(await page.locator('#clients-table tbody tr').count(), 1);

    await page.getByLabel('Search clients').fill('');
    await page.getByRole('button', { name: 'Load more clients' }).click();
    await page.locator('tr[data-client-id="bulk-1498"]').waitFor();
    await page.getByRole('button', { name: 'Load more clients' }).waitFor({ state: 'hidden' });
    const total = (await tessera.server.context.store.listClients()).length;
    assert.equal(await page.locator('#clients-table tbody tr').count(), total);
    assert.deepEqual(problems, []);
    await page.close();
  });

  it("switches tenant (issue 21): each tenant's clients, and a client created there is its own", async () => {
    const admin = await tessera.createClient({ name: 'Switching console', scope: 'tessera:admin' });
    const home = await tessera.createClient({ name: 'Home partner' });
    const sandbox = await tenantWithClient(tessera.server.context, 'sandbox');
    await tessera.server.context.syncChanges();
    const { page, problems } = await consolePage();
    await signInWithSecret(page, admin.clientId, admin.clientSecret);
    await page.locator(`tr[data-client-id="${home.clientId}"]`).waitFor();
    assert.equal(await page.locator(`tr[data-client-id="${sandbox.clientId}"]`).count(), 0);

    await page.locator('#tenant').selectOption('sandbox');
    await page.locator(`tr[data-client-id="${sandbox.clientId}"]`).waitFor();
    await page.locator(`tr[data-client-id="${home.clientId}"]`).waitFor({ state: 'detached' });

    // A client made in the sandbox view is the sandbox's: tokens at /t/sandbox only.
    const created = await createClientInConsole(page, 'Sandbox billing');
    await page.locator(`tr[data-client-id="${created.clientId}"]`).waitFor();
    assert.equal((await tokenAtPath('/t/sandbox/oauth/token', created)).status, 200);
    assert.equal((await tokenAtPath('/oauth/token', created)).status, 401);

    // Keys follow the switcher too: the sandbox's key ids are not the default tenant's.
    await page.locator('#nav [data-view="keys"]').click();
    const sandboxKid = (await (
      await fetch(`${tessera.url}/t/sandbox/.well-known/jwks.json`)
    ).json()) as {
      keys: Array<{ kid: string }>;
    };
    await page.locator('#keys-view td.mono', { hasText: sandboxKid.keys[0]!.kid }).waitFor();

    await page.locator('#tenant').selectOption('default');
    await page.locator('#nav [data-view="clients"]').click();
    await page.locator(`tr[data-client-id="${home.clientId}"]`).waitFor();
    assert.equal(await page.locator(`tr[data-client-id="${created.clientId}"]`).count(), 0);
    assert.deepEqual(problems, []);
    await page.close();
  });
  it("signs a tenant's own admin client in to that tenant alone (issue 21)", async () => {
    const context = tessera.server.context;
    const home = await tessera.createClient({ name: 'Default partner' });
    const partner = await tenantWithClient(context, 'partner');
    const { client: admin, clientSecret } = await new ClientRegistry(
      context.store.forTenant('partner'),
      context.hasher,
      { actor: 'cli:test' },
    ).create({ name: 'Partner console', scope: 'tessera:admin' });
    await context.syncChanges();
    const { page, problems } = await consolePage();
    await signInWithSecret(page, admin.clientId, clientSecret, 'partner');

    // Its tenant's clients, never the default tenant's, and a switcher offering only it.
    await page.locator(`tr[data-client-id="${partner.clientId}"]`).waitFor();
    assert.equal(await page.locator(`tr[data-client-id="${home.clientId}"]`).count(), 0);
    assert.deepEqual(
      await page
        .locator('#tenant option')
        .evaluateAll((options) => options.map((option) => (option as HTMLOptionElement).value)),
      ['partner'],
    );
    assert.equal(await page.locator('#tenant-switcher').isVisible(), true);
    // The activity charts are the deployment's: not offered to one tenant's admin.
    assert.equal(await page.locator('#nav [data-view="activity"]').isVisible(), false);

    // A client it creates is the partner's: tokens at /t/partner only.
    const created = await createClientInConsole(page, 'Partner billing');
    assert.equal((await tokenAtPath('/t/partner/oauth/token', created)).status, 200);
    assert.equal((await tokenAtPath('/oauth/token', created)).status, 401);

    // The same admin client without the tenant is unknown at the default tenant.
    await page.getByRole('button', { name: 'Sign out' }).click();
    await signInWithSecret(page, admin.clientId, clientSecret, '');
    await page.locator('#sign-in-error', { hasText: 'unknown client or wrong secret' }).waitFor();
    assert.deepEqual(problems, []);
    await page.close();
  });
});
