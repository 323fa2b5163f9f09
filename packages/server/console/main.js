// @ts-check
/**
 * Tessera's admin console: plain DOM, no framework, no third-party code, no bundler: the
 * browser loads these ES modules as they are. This entry signs in with an admin client's
 * credentials at this server's token endpoint, switches views, and wires the page. Everything
 * shown comes from the admin API (/admin/v1); text is set with textContent.
 */

import { loadActivity } from './activity.js';
import { attempt, endSession, onSessionEnded, requestAdminToken, startSession } from './api.js';
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
  try {
    const { ok, status, data } = await requestAdminToken(clientId, secretInput.value);
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
    byId('sign-in-view').hidden = true;
    byId('nav').hidden = false;
    byId('sign-out').hidden = false;
    const who = byId('who');
    who.hidden = false;
    who.textContent = `Signed in as ${clientId}`;
    notify('');
    await show('clients');
  } catch (error) {
    errorOut.textContent = `Sign-in failed: ${messageOf(error)}`;
  }
}

function signOut(message = 'Signed out.') {
  endSession();
  clearTimeout(expiryTimer);
  clearInterval(activityTimer);
  for (const id of ['clients-view', 'keys-view', 'activity-view', 'nav', 'sign-out', 'who'])
    byId(id).hidden = true;
  byId('sign-in-view').hidden = false;
  clearClients();
  notify(message);
  byId('sign-in-id').focus();
}

/** @param {View} view */
async function show(view) {
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
}

start();
