// @ts-check
/** The clients view: the searchable table, the create/edit form, and each row's actions. */

import { renderClientChoices } from './activity.js';
import { api, ApiError, attempt, isSignedOut } from './api.js';
import { readClaims, showClaims } from './claims-field.js';
import { firstPage, hasMore, nextPage, resetPages, searchWholeRegistry } from './client-pages.js';
import { confirmAction, showSecret } from './dialogs.js';
import { quotaBars } from './quota.js';
import {
  ago,
  byId,
  dateTime,
  dialogById,
  duration,
  el,
  inputById,
  messageOf,
  notify,
  tableBody,
} from './dom.js';

/** @typedef {import('./api.js').ClientView} ClientView */
/** @typedef {import('./api.js').ClientActivity} ClientActivity */

/** @type {ClientView[]} */
let clients = [];
/** @type {Map<string, ClientActivity>} */
let clientActivity = new Map();
/** Forgets the clients shown (on sign-out). */
export function clearClients() {
  clients = [];
  resetPages();
  tableBody('clients-table')?.replaceChildren();
}

/** Fetches the first page of clients and their 24-hour activity, then renders the table. */
export async function loadClients() {
  /** @type {[ClientView[], { clients: ClientActivity[] }]} */
  const [list, activity] = await Promise.all([
    firstPage(),
    // The 24-hour counts are the deployment's (every tenant's): a caller with roles on single
    // tenants only is refused them (403) and sees its clients without the numbers.
    api('GET', '/admin/v1/activity/clients').catch((/** @type {unknown} */ error) => {
      if (error instanceof ApiError && error.status === 403) return { clients: [] };
      throw error;
    }),
  ]);
  clients = list;
  clientActivity = new Map(activity.clients.map((a) => [a.client_id, a]));
  renderClients();
  renderClientChoices(clients);
}

/** Adds clients to the loaded ones (a later page, or server-side search results). */
function merge(/** @type {ClientView[]} */ more) {
  const known = new Set(clients.map((client) => client.client_id));
  clients = [...clients, ...more.filter((client) => !known.has(client.client_id))];
}

function renderClients() {
  const query = inputById('client-search').value.trim().toLowerCase();
  const shown = clients.filter((client) =>
    [
      client.client_id,
      client.name,
      client.scope,
      client.status,
      client.auth_method,
      ...client.audience,
    ]
      .join(' ')
      .toLowerCase()
      .includes(query),
  );
  byId('client-count').textContent = `${shown.length} of ${clients.length}${hasMore() ? '+' : ''}`;
  byId('clients-more').hidden = !hasMore();
  const rows = shown.map((client) => {
    const activity = clientActivity.get(client.client_id);
    const lastUse = [activity?.last_used_at, ...client.secrets.map((s) => s.last_used_at)]
      .filter(Boolean)
      .sort()
      .at(-1);
    const label = client.name || client.client_id;
    const button = (/** @type {string} */ text, /** @type {string} */ action, cls = 'small') =>
      el(
        'button',
        {
          type: 'button',
          class: cls,
          'data-action': action,
          'data-id': client.client_id,
          // The role the action needs: hidden from people whose role is weaker (console.css).
          'data-needs': action === 'delete' ? 'admin' : 'operator',
          'aria-label': `${text} ${label}`,
        },
        [text],
      );
    return el('tr', { 'data-client-id': client.client_id }, [
      el('td', {}, [
        el('span', { class: 'client-name' }, [client.name || '(unnamed)']),
        el('span', { class: 'client-id mono' }, [client.client_id]),
        ...(client.token_quota ? [quotaBars(client.client_id)] : []),
      ]),
      el('td', {}, [el('span', { class: `badge ${client.status}` }, [client.status])]),
      el(
        'td',
        {},
        client.scope
          ? client.scope.split(' ').map((s) => el('span', { class: 'chip' }, [s]))
          : [el('span', { class: 'muted' }, ['none'])],
      ),
      el('td', { class: 'mono' }, [client.auth_method]),
      el(
        'td',
        {},
        client.audience.length
          ? client.audience.map((a) => el('div', { class: 'mono' }, [a]))
          : [el('span', { class: 'muted' }, ['server default'])],
      ),
      el('td', {}, [
        el(
          'ul',
          { class: 'secrets' },
          client.secrets.map((secret) =>
            el('li', {}, [
              `${duration((Date.now() - Date.parse(secret.created_at)) / 1000)} old`,
              secret.expires_at
                ? el('span', { class: 'muted' }, [`, expires ${ago(secret.expires_at)}`])
                : '',
            ]),
          ),
        ),
      ]),
      el('td', { title: lastUse ? dateTime(lastUse) : 'never' }, [ago(lastUse)]),
      el('td', { class: 'num' }, [String(activity?.tokens_issued_24h ?? 0)]),
      el('td', { class: 'num' }, [String(activity?.auth_failures_24h ?? 0)]),
      el('td', {}, [
        el('div', { class: 'row-actions' }, [
          button('Edit', 'edit'),
          button('Rotate secret', 'rotate'),
          client.status === 'active' ? button('Disable', 'disable') : button('Enable', 'enable'),
          button('Delete', 'delete'),
        ]),
      ]),
    ]);
  });
  const body = tableBody('clients-table');
  if (!body) return;
  if (rows.length === 0) {
    body.replaceChildren(
      el('tr', {}, [
        el('td', { colspan: '10', class: 'muted' }, [
          clients.length ? 'No client matches the search.' : 'No clients yet.',
        ]),
      ]),
    );
  } else {
    body.replaceChildren(...rows);
  }
}

/** @param {string} id */
const clientById = (id) => clients.find((client) => client.client_id === id);

/** @type {string | undefined} the client being edited; undefined when creating */
let editing;

/** @param {ClientView | undefined} client */
function openClientForm(client) {
  editing = client?.client_id;
  byId('client-dialog-title').textContent = client ? 'Edit client' : 'New client';
  byId('client-submit').textContent = client ? 'Save' : 'Create';
  byId('client-form-id').textContent = client ? client.client_id : '';
  byId('client-form-error').textContent = '';
  const value = (/** @type {string} */ id, /** @type {string} */ v) => {
    inputById(id).value = v;
  };
  value('client-name', client?.name ?? '');
  value('client-scope', client?.scope ?? '');
  value('client-audience', client ? client.audience.join(' ') : '');
  value('client-ttl', client?.token_ttl == null ? '' : String(client.token_ttl));
  value('client-auth-method', client?.auth_method ?? 'any');
  value('client-federated-issuer', client?.federated_issuer ?? '');
  value('client-federated-subject', client?.federated_subject ?? '');
  value('client-federated-audience', client?.federated_audience ?? '');
  value('client-profile', client?.profile ?? '');
  showClaims(client?.claims);
  value('client-quota', client?.token_quota ?? '');
  inputById('client-reuse').checked = client?.reuse_tokens ?? false;
  dialogById('client-dialog').showModal();
}

/** @param {SubmitEvent} event */
async function submitClientForm(event) {
  event.preventDefault();
  const read = (/** @type {string} */ id) => inputById(id).value.trim();
  const ttl = read('client-ttl');
  const body = {
    claims: {},
    name: read('client-name'),
    scope: read('client-scope').split(/\s+/).filter(Boolean).join(' '),
    audience: read('client-audience')
      .split(/[\s,]+/)
      .filter(Boolean),
    token_ttl: ttl === '' ? null : Number(ttl),
    auth_method: read('client-auth-method'),
    token_quota: read('client-quota') === '' ? null : read('client-quota'),
    reuse_tokens: inputById('client-reuse').checked,
  };
  if (body.auth_method === 'federated') {
    Object.assign(body, {
      federated_issuer: read('client-federated-issuer'),
      federated_subject: read('client-federated-subject'),
    });
    const audience = read('client-federated-audience');
    if (audience !== '') Object.assign(body, { federated_audience: audience });
  }
  // The profile is sent only when it changes, so saving other fields never releases it.
  const profile = read('client-profile');
  const current = editing ? (clientById(editing)?.profile ?? '') : '';
  if (profile !== current) Object.assign(body, { profile: profile === '' ? 'none' : profile });
  try {
    body.claims = readClaims();
    if (editing) {
      await api('PATCH', `/admin/v1/clients/${encodeURIComponent(editing)}`, body);
      dialogById('client-dialog').close();
      notify(`Saved ${body.name || editing}.`);
    } else {
      const created = await api('POST', '/admin/v1/clients', body);
      dialogById('client-dialog').close();
      // A federated (or other secretless) client has no secret to show.
      if (created.client_secret !== undefined)
        showSecret('Client created', created.client_id, created.client_secret);
      notify(`Created ${created.name || created.client_id}.`);
    }
    await loadClients();
  } catch (error) {
    if (!isSignedOut(error)) byId('client-form-error').textContent = messageOf(error);
  }
}

/** @type {string | undefined} */
let rotating;

/** @param {MouseEvent} event */
async function onClientAction(event) {
  const target = /** @type {HTMLElement} */ (event.target);
  const button = target.closest('button[data-action]');
  if (!button) return;
  const id = button.getAttribute('data-id') ?? '';
  const client = clientById(id);
  if (!client) return;
  const label = client.name ? `${client.name} (${id})` : id;
  const path = `/admin/v1/clients/${encodeURIComponent(id)}`;
  switch (button.getAttribute('data-action')) {
    case 'edit':
      openClientForm(client);
      return;
    case 'rotate':
      rotating = id;
      byId('rotate-client').textContent = label;
      byId('rotate-error').textContent = '';
      dialogById('rotate-dialog').showModal();
      return;
    case 'disable':
      if (
        !(await confirmAction(
          `Disable ${label}? Its token requests fail until it is enabled again; tokens already issued stay valid until they expire.`,
          'Disable',
        ))
      )
        return;
      await attempt(async () => {
        await api('POST', `${path}/disable`);
        notify(`Disabled ${label}.`);
        await loadClients();
      });
      return;
    case 'enable':
      await attempt(async () => {
        await api('POST', `${path}/enable`);
        notify(`Enabled ${label}.`);
        await loadClients();
      });
      return;
    case 'delete':
      if (!(await confirmAction(`Delete ${label}? This cannot be undone.`, 'Delete'))) return;
      await attempt(async () => {
        await api('DELETE', path);
        notify(`Deleted ${label}.`);
        await loadClients();
      });
      return;
  }
}

/** @param {SubmitEvent} event */
async function submitRotate(event) {
  event.preventDefault();
  if (!rotating) return;
  const grace = Number(inputById('rotate-grace').value);
  try {
    const rotated = await api(
      'POST',
      `/admin/v1/clients/${encodeURIComponent(rotating)}/rotate-secret`,
      {
        grace_seconds: grace,
      },
    );
    dialogById('rotate-dialog').close();
    showSecret('New secret', rotated.client_id, rotated.client_secret);
    notify(
      `Rotated the secret of ${rotated.client_id}; the previous one works for ${duration(grace)}.`,
    );
    await loadClients();
  } catch (error) {
    if (!isSignedOut(error)) byId('rotate-error').textContent = messageOf(error);
  }
}

/** Wires the clients view's controls and dialogs. */
export function wireClients() {
  const add = (/** @type {ClientView[]} */ more) => {
    merge(more);
    renderClients();
  };
  byId('client-search').addEventListener('input', () => {
    renderClients();
    searchWholeRegistry(inputById('client-search').value.trim(), add);
  });
  byId('clients-more').addEventListener(
    'click',
    () => void attempt(async () => add(await nextPage())),
  );
  byId('new-client').addEventListener('click', () => openClientForm(undefined));
  byId('client-form').addEventListener(
    'submit',
    (event) => void submitClientForm(/** @type {SubmitEvent} */ (event)),
  );
  byId('clients-table').addEventListener(
    'click',
    (event) => void onClientAction(/** @type {MouseEvent} */ (event)),
  );
  byId('rotate-form').addEventListener(
    'submit',
    (event) => void submitRotate(/** @type {SubmitEvent} */ (event)),
  );
}
