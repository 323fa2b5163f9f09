// @ts-check
/**
 * Tessera's admin console: plain DOM, no framework, no third-party code, no bundler: the
 * browser loads these ES modules as they are. This entry signs in with an admin client's
 * credentials at this server's token endpoint, switches views, and wires the page. Everything
 * shown comes from the admin API (/admin/v1); text is set with textContent.
 */

import { loadActivity } from './activity.js';
import {
  api,
  attempt,
  consoleSession,
  endSession,
  onSessionEnded,
  requestAdminToken,
  setTenant,
  signOutPerson,
  startCookieSession,
  startSession,
} from './api.js';
import { clearClients, loadClients, wireClients } from './clients.js';
import { wireSecretDialog } from './dialogs.js';
import { byId, inputById, messageOf, notify } from './dom.js';
import { loadKeys, wireKeys } from './keys.js';

const activityRefreshMs = 5000;

/** @typedef {'clients' | 'keys' | 'activity'} View */
/** @type {readonly View[]} */
const views = ['clients', 'keys', 'activity'];

/** @type {ReturnType<typeof setTimeout> | undefined} */
let expiryTimer;
/** @type {ReturnType<typeof setInterval> | undefined} */
let activityTimer;

/** @param {SubmitEvent} event */
async function signIn(event) {
  event.preventDefault();
  const secretInput = inputById('sign-in-secret');
  const errorOut = byId('sign-in-error');
  errorOut.textContent = '';
  const clientId = inputById('sign-in-id').value.trim();
  const tenantName = inputById('sign-in-tenant').value.trim();
  try {
    const { ok, status, data } = await requestAdminToken(clientId, secretInput.value, tenantName);
    if (!ok) {
      errorOut.textContent =
        status === 401
          ? 'Sign-in failed: unknown client or wrong secret.'
          : `Sign-in failed: ${data.error_description ?? data.error ?? status}`;
      return;
    }
    secretInput.value = '';
    startSession(data.access_token);
    clearTimeout(expiryTimer);
    expiryTimer = setTimeout(
      () => signOut('Your access token expired; sign in again.'),
      Math.max(0, data.expires_in * 1000 - 5000),
    );
    // The console asks for tessera:admin, so a client that gets a token is an admin (of its
    // tenant only, when it is a tenant's: the server lists only that tenant).
    const tenantOnly = tenantName !== '' && tenantName !== 'default';
    roles = {
      role: tenantOnly ? null : 'admin',
      tenantRoles: tenantOnly ? { [tenantName]: 'admin' } : {},
    };
    await signedIn(
      tenantOnly ? `Signed in as ${clientId} (tenant ${tenantName})` : `Signed in as ${clientId}`,
    );
  } catch (error) {
    errorOut.textContent = `Sign-in failed: ${messageOf(error)}`;
  }
}

/**
 * Issue 21: what the signed-in caller holds: a role on every tenant (null: none) and roles on
 * single tenants. The switcher offers only the tenants these reach.
 * @type {{ role: string | null, tenantRoles: Record<string, string> }}
 */
let roles = { role: null, tenantRoles: {} };

const roleOrder = ['viewer', 'operator', 'admin'];
/** The caller's role on `name`: the stronger of the deployment-wide one and the tenant's. @param {string} name */
function roleOn(name) {
  const held = [roles.role, name === 'default' ? null : roles.tenantRoles[name]].filter(
    (role) => typeof role === 'string',
  );
  return held.sort((a, b) => roleOrder.indexOf(b) - roleOrder.indexOf(a))[0];
}

/** Shows the console to a signed-in caller (its roles are in `roles`). @param {string} whoText */
async function signedIn(whoText) {
  document.body.dataset.role = roleOn('default') ?? 'viewer';
  // Activity is the deployment's (every tenant's traffic): not for a caller of some tenants.
  const activity = document.querySelector('#nav [data-view="activity"]');
  if (activity instanceof HTMLElement) activity.hidden = !roles.role;
  byId('sign-in-view').hidden = true;
  byId('nav').hidden = false;
  byId('sign-out').hidden = false;
  const who = byId('who');
  who.hidden = false;
  who.textContent = whoText;
  notify('');
  await loadTenants();
  await show('clients');
}

/** The view on screen, shown again when the tenant changes. @type {View} */
let currentView = 'clients';

/**
 * Issue 21: the tenant switcher, filled from the admin API (`GET /admin/v1/tenants`); shown
 * only when the deployment has tenants besides default.
 */
async function loadTenants() {
  const select = /** @type {HTMLSelectElement} */ (byId('tenant'));
  const switcher = byId('tenant-switcher');
  setTenant('default');
  select.replaceChildren();
  switcher.hidden = true;
  await attempt(async () => {
    // The server lists only the tenants the caller reaches; the default tenant is offered
    // only to a caller with a role on every tenant.
    const { tenants } = /** @type {{ tenants: Array<{ name: string }> }} */ (
      await api('GET', '/admin/v1/tenants')
    );
    const names = [
      ...(roles.role ? ['default'] : []),
      ...tenants.map((entry) => entry.name).filter((name) => roleOn(name) !== undefined),
    ];
    for (const name of names) {
      const option = document.createElement('option');
      option.value = name;
      option.textContent = name;
      select.append(option);
    }
    switcher.hidden = names.length === 0 || (names.length === 1 && names[0] === 'default');
    if (names[0] && names[0] !== 'default') {
      setTenant(names[0]);
      document.body.dataset.role = roleOn(names[0]) ?? 'viewer';
    }
  });
}

async function switchTenant() {
  const select = /** @type {HTMLSelectElement} */ (byId('tenant'));
  setTenant(select.value);
  document.body.dataset.role = roleOn(select.value) ?? 'viewer';
  clearClients();
  notify(`Showing tenant ${select.value}`);
  await show(currentView);
}

/** @type {boolean} */
let personSignedIn = false;

function signOut(message = 'Signed out.') {
  if (personSignedIn) void signOutPerson();
  personSignedIn = false;
  delete document.body.dataset.role;
  roles = { role: null, tenantRoles: {} };
  endSession();
  clearTimeout(expiryTimer);
  clearInterval(activityTimer);
  for (const id of [
    'clients-view',
    'keys-view',
    'activity-view',
    'nav',
    'sign-out',
    'who',
    'tenant-switcher',
  ])
    byId(id).hidden = true;
  byId('sign-in-view').hidden = false;
  clearClients();
  notify(message);
  byId('sign-in-id').focus();
}

/** @param {View} view */
async function show(view) {
  currentView = view;
  clearInterval(activityTimer);
  for (const name of views) {
    byId(`${name}-view`).hidden = name !== view;
    const button = document.querySelector(`#nav [data-view="${name}"]`);
    if (name === view) button?.setAttribute('aria-current', 'page');
    else button?.removeAttribute('aria-current');
  }
  await attempt(async () => {
    if (view === 'clients') await loadClients();
    else if (view === 'keys') await loadKeys();
    else {
      await loadClients();
      await loadActivity();
      activityTimer = setInterval(() => void attempt(loadActivity), activityRefreshMs);
    }
  });
}

/** @param {string | null} name @returns {name is View} */
const isView = (name) => views.some((view) => view === name);

function start() {
  onSessionEnded(signOut);
  byId('sign-in-form').addEventListener(
    'submit',
    (event) => void signIn(/** @type {SubmitEvent} */ (event)),
  );
  byId('sign-out').addEventListener('click', () => signOut());
  byId('tenant').addEventListener('change', () => void switchTenant());
  for (const button of document.querySelectorAll('#nav [data-view]')) {
    button.addEventListener('click', () => {
      const view = button.getAttribute('data-view');
      if (isView(view)) void show(view);
    });
  }
  wireClients();
  wireSecretDialog();
  wireKeys();
  byId('activity-client').addEventListener('change', () => void attempt(loadActivity));
  for (const button of document.querySelectorAll('dialog [data-close]')) {
    button.addEventListener('click', () => button.closest('dialog')?.close());
  }
  byId('sign-in-id').focus();
  void resume();
}

/** Offers the identity provider's sign-in when there is one, and resumes a person's session. */
async function resume() {
  try {
    const { sign_in, session } = await consoleSession();
    byId('oidc-sign-in').hidden = !sign_in.oidc;
    byId('oidc-or').hidden = !sign_in.secret;
    byId('sign-in-form').hidden = !sign_in.secret;
    if (!sign_in.secret) byId('oidc-sign-in-link').focus();
    if (session) {
      startCookieSession();
      personSignedIn = true;
      const name = session.person.email ?? session.person.sub;
      roles = { role: session.role, tenantRoles: session.tenant_roles ?? {} };
      const onTenants = Object.entries(roles.tenantRoles).map(([t, role]) => `${role} of ${t}`);
      const held = [...(session.role ? [session.role] : []), ...onTenants].join(', ');
      await signedIn(`Signed in as ${name} (${held})`);
    }
  } catch (error) {
    notify(messageOf(error), true);
  }
}

start();
