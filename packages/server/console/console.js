// @ts-check
/**
 * Tessera's admin console: plain DOM, no framework, no third-party code. It signs in with an
 * admin client's credentials at this server's token endpoint and keeps the access token in a
 * variable only (never localStorage, sessionStorage or a cookie), so a reload signs out.
 * Everything it shows comes from the admin API (/admin/v1); text is set with textContent.
 */

const svgNs = 'http://www.w3.org/2000/svg';
const activityRefreshMs = 5000;

/** @type {{ token: string, clientId: string, expiresAt: number } | undefined} */
let session;
/** @type {ReturnType<typeof setTimeout> | undefined} */
let expiryTimer;
/** @type {ReturnType<typeof setInterval> | undefined} */
let activityTimer;
/** @type {any[]} */
let clients = [];
/** @type {Map<string, any>} */
let clientActivity = new Map();

/**
 * @template {HTMLElement} T
 * @param {string} id
 * @returns {T}
 */
const byId = (id) => /** @type {T} */ (document.getElementById(id));

/**
 * @param {string} tag
 * @param {Record<string, string>} [attributes]
 * @param {Array<Node | string>} [children]
 */
function el(tag, attributes = {}, children = []) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) node.setAttribute(name, value);
  node.append(...children);
  return node;
}

/**
 * @param {string} tag
 * @param {Record<string, string | number>} [attributes]
 */
function svg(tag, attributes = {}) {
  const node = document.createElementNS(svgNs, tag);
  for (const [name, value] of Object.entries(attributes)) node.setAttribute(name, String(value));
  return node;
}

/** @param {string} message @param {boolean} [isError] */
function notify(message, isError = false) {
  const notice = byId('notice');
  notice.textContent = message;
  notice.classList.toggle('error', isError);
  notice.setAttribute('role', isError ? 'alert' : 'status');
}

// ---- time formatting -------------------------------------------------------------------

/** @param {number} seconds */
function duration(seconds) {
  const s = Math.abs(Math.round(seconds));
  if (s < 60) return `${s} s`;
  if (s < 3600) return `${Math.round(s / 60)} min`;
  if (s < 172800) return `${Math.round(s / 3600)} h`;
  return `${Math.round(s / 86400)} d`;
}

/** @param {string | null | undefined} iso */
function ago(iso) {
  if (!iso) return 'never';
  const seconds = (Date.now() - Date.parse(iso)) / 1000;
  return seconds >= 0 ? `${duration(seconds)} ago` : `in ${duration(seconds)}`;
}

/** @param {string | null | undefined} iso */
function dateTime(iso) {
  if (!iso) return '—';
  return new Date(iso).toLocaleString(undefined, { dateStyle: 'medium', timeStyle: 'short' });
}

// ---- HTTP ------------------------------------------------------------------------------

/** RFC 6749 §2.3.1: form-urlencode id and secret, then Basic. */
function basicAuthorization(/** @type {string} */ id, /** @type {string} */ secret) {
  const encode = (/** @type {string} */ value) => encodeURIComponent(value).replace(/%20/g, '+');
  return `Basic ${btoa(`${encode(id)}:${encode(secret)}`)}`;
}

class ApiError extends Error {
  /** @param {number} status @param {string} message */
  constructor(status, message) {
    super(message);
    this.status = status;
  }
}

/**
 * @param {string} method
 * @param {string} path
 * @param {unknown} [body]
 */
async function api(method, path, body) {
  if (!session) throw new ApiError(401, 'Not signed in');
  /** @type {Record<string, string>} */
  const headers = { authorization: `Bearer ${session.token}` };
  if (body !== undefined) headers['content-type'] = 'application/json';
  const response = await fetch(path, {
    method,
    headers,
    body: body === undefined ? undefined : JSON.stringify(body),
    cache: 'no-store',
    // No cookies, and no browser sign-in prompt on the Basic challenge a wrong secret gets.
    credentials: 'omit',
  });
  const text = await response.text();
  const data = text ? JSON.parse(text) : undefined;
  if (response.status === 401) {
    signOut('Your session ended; sign in again.');
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

/** Runs an action, reporting its failure in the notice area. @param {() => Promise<void>} run */
async function attempt(run) {
  try {
    await run();
  } catch (error) {
    if (error instanceof ApiError && error.status === 401) return;
    notify(error instanceof Error ? error.message : String(error), true);
  }
}

// ---- sign-in ---------------------------------------------------------------------------

async function signIn(/** @type {SubmitEvent} */ event) {
  event.preventDefault();
  const idInput = /** @type {HTMLInputElement} */ (byId('sign-in-id'));
  const secretInput = /** @type {HTMLInputElement} */ (byId('sign-in-secret'));
  const errorOut = byId('sign-in-error');
  errorOut.textContent = '';
  const clientId = idInput.value.trim();
  try {
    const response = await fetch('/oauth/token', {
      method: 'POST',
      headers: {
        authorization: basicAuthorization(clientId, secretInput.value),
        'content-type': 'application/x-www-form-urlencoded',
      },
      body: 'grant_type=client_credentials&scope=tessera%3Aadmin',
      cache: 'no-store',
      // No cookies, and no browser sign-in prompt on the Basic challenge a wrong secret gets.
      credentials: 'omit',
    });
    const data = await response.json().catch(() => ({}));
    if (!response.ok) {
      errorOut.textContent =
        response.status === 401
          ? 'Sign-in failed: unknown client or wrong secret.'
          : `Sign-in failed: ${data.error_description ?? data.error ?? response.status}`;
      return;
    }
    secretInput.value = '';
    session = {
      token: data.access_token,
      clientId,
      expiresAt: Date.now() + data.expires_in * 1000,
    };
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
    errorOut.textContent = `Sign-in failed: ${error instanceof Error ? error.message : error}`;
  }
}

function signOut(/** @type {string} */ message = 'Signed out.') {
  session = undefined;
  clearTimeout(expiryTimer);
  clearInterval(activityTimer);
  clients = [];
  for (const id of ['clients-view', 'keys-view', 'activity-view', 'nav', 'sign-out', 'who'])
    byId(id).hidden = true;
  byId('sign-in-view').hidden = false;
  byId('clients-table').querySelector('tbody')?.replaceChildren();
  notify(message);
  byId('sign-in-id').focus();
}

// ---- navigation ------------------------------------------------------------------------

/** @param {'clients' | 'keys' | 'activity'} view */
async function show(view) {
  clearInterval(activityTimer);
  for (const name of ['clients', 'keys', 'activity']) {
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

// ---- clients ---------------------------------------------------------------------------

async function loadClients() {
  const [list, activity] = await Promise.all([
    api('GET', '/admin/v1/clients'),
    api('GET', '/admin/v1/activity/clients'),
  ]);
  clients = list.clients;
  clientActivity = new Map(activity.clients.map((/** @type {any} */ a) => [a.client_id, a]));
  renderClients();
  renderClientChoices();
}

function renderClients() {
  const query = /** @type {HTMLInputElement} */ (byId('client-search')).value.trim().toLowerCase();
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
  byId('client-count').textContent = `${shown.length} of ${clients.length}`;
  const rows = shown.map((client) => {
    const activity = clientActivity.get(client.client_id);
    const lastUse = [
      activity?.last_used_at,
      ...client.secrets.map((/** @type {any} */ s) => s.last_used_at),
    ]
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
          'aria-label': `${text} ${label}`,
        },
        [text],
      );
    return el('tr', { 'data-client-id': client.client_id }, [
      el('td', {}, [
        el('span', { class: 'client-name' }, [client.name || '(unnamed)']),
        el('span', { class: 'client-id mono' }, [client.client_id]),
      ]),
      el('td', {}, [el('span', { class: `badge ${client.status}` }, [client.status])]),
      el(
        'td',
        {},
        client.scope
          ? client.scope
              .split(' ')
              .map((/** @type {string} */ s) => el('span', { class: 'chip' }, [s]))
          : [el('span', { class: 'muted' }, ['none'])],
      ),
      el('td', { class: 'mono' }, [client.auth_method]),
      el(
        'td',
        {},
        client.audience.length
          ? client.audience.map((/** @type {string} */ a) => el('div', { class: 'mono' }, [a]))
          : [el('span', { class: 'muted' }, ['server default'])],
      ),
      el('td', {}, [
        el(
          'ul',
          { class: 'secrets' },
          client.secrets.map((/** @type {any} */ secret) =>
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
  const body = byId('clients-table').querySelector('tbody');
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

function openClientForm(/** @type {any} */ client) {
  editing = client?.client_id;
  byId('client-dialog-title').textContent = client ? 'Edit client' : 'New client';
  byId('client-submit').textContent = client ? 'Save' : 'Create';
  byId('client-form-id').textContent = client ? client.client_id : '';
  byId('client-form-error').textContent = '';
  const value = (/** @type {string} */ id, /** @type {string} */ v) => {
    /** @type {HTMLInputElement} */ (byId(id)).value = v;
  };
  value('client-name', client?.name ?? '');
  value('client-scope', client?.scope ?? '');
  value('client-audience', client ? client.audience.join(' ') : '');
  value('client-ttl', client?.token_ttl == null ? '' : String(client.token_ttl));
  value('client-auth-method', client?.auth_method ?? 'any');
  /** @type {HTMLDialogElement} */ (byId('client-dialog')).showModal();
}

async function submitClientForm(/** @type {SubmitEvent} */ event) {
  event.preventDefault();
  const read = (/** @type {string} */ id) =>
    /** @type {HTMLInputElement} */ (byId(id)).value.trim();
  const ttl = read('client-ttl');
  const body = {
    name: read('client-name'),
    scope: read('client-scope').split(/\s+/).filter(Boolean).join(' '),
    audience: read('client-audience')
      .split(/[\s,]+/)
      .filter(Boolean),
    token_ttl: ttl === '' ? null : Number(ttl),
    auth_method: read('client-auth-method'),
  };
  try {
    if (editing) {
      await api('PATCH', `/admin/v1/clients/${encodeURIComponent(editing)}`, body);
      /** @type {HTMLDialogElement} */ (byId('client-dialog')).close();
      notify(`Saved ${body.name || editing}.`);
    } else {
      const created = await api('POST', '/admin/v1/clients', body);
      /** @type {HTMLDialogElement} */ (byId('client-dialog')).close();
      showSecret('Client created', created.client_id, created.client_secret);
      notify(`Created ${created.name || created.client_id}.`);
    }
    await loadClients();
  } catch (error) {
    if (!(error instanceof ApiError && error.status === 401))
      byId('client-form-error').textContent =
        error instanceof Error ? error.message : String(error);
  }
}

function showSecret(
  /** @type {string} */ title,
  /** @type {string} */ clientId,
  /** @type {string} */ secret,
) {
  byId('secret-dialog-title').textContent = title;
  /** @type {HTMLInputElement} */ (byId('secret-client-id')).value = clientId;
  /** @type {HTMLInputElement} */ (byId('secret-value')).value = secret;
  byId('copy-status').textContent = '';
  /** @type {HTMLDialogElement} */ (byId('secret-dialog')).showModal();
}

async function copySecret() {
  const input = /** @type {HTMLInputElement} */ (byId('secret-value'));
  try {
    await navigator.clipboard.writeText(input.value);
  } catch {
    // Outside a secure context the Clipboard API is missing; fall back to a selection copy.
    input.select();
    document.execCommand('copy');
  }
  byId('copy-status').textContent = 'Copied to the clipboard.';
}

/** @param {string} message @param {string} confirmLabel @returns {Promise<boolean>} */
function confirmAction(message, confirmLabel) {
  const dialog = /** @type {HTMLDialogElement} */ (byId('confirm-dialog'));
  byId('confirm-message').textContent = message;
  byId('confirm-ok').textContent = confirmLabel;
  dialog.returnValue = '';
  dialog.showModal();
  byId('confirm-ok').focus();
  return new Promise((resolve) => {
    dialog.addEventListener('close', () => resolve(dialog.returnValue === 'ok'), { once: true });
  });
}

/** @type {string | undefined} */
let rotating;

async function onClientAction(/** @type {MouseEvent} */ event) {
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
      /** @type {HTMLDialogElement} */ (byId('rotate-dialog')).showModal();
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

async function submitRotate(/** @type {SubmitEvent} */ event) {
  event.preventDefault();
  if (!rotating) return;
  const grace = Number(/** @type {HTMLInputElement} */ (byId('rotate-grace')).value);
  try {
    const rotated = await api(
      'POST',
      `/admin/v1/clients/${encodeURIComponent(rotating)}/rotate-secret`,
      {
        grace_seconds: grace,
      },
    );
    /** @type {HTMLDialogElement} */ (byId('rotate-dialog')).close();
    showSecret('New secret', rotated.client_id, rotated.client_secret);
    notify(
      `Rotated the secret of ${rotated.client_id}; the previous one works for ${duration(grace)}.`,
    );
    await loadClients();
  } catch (error) {
    if (!(error instanceof ApiError && error.status === 401))
      byId('rotate-error').textContent = error instanceof Error ? error.message : String(error);
  }
}

// ---- keys ------------------------------------------------------------------------------

async function loadKeys() {
  const { keys } = await api('GET', '/admin/v1/keys');
  const body = byId('keys-table').querySelector('tbody');
  body?.replaceChildren(
    ...keys.map((/** @type {any} */ key) =>
      el('tr', {}, [
        el('td', { class: 'mono' }, [key.kid]),
        el('td', {}, [key.alg]),
        el('td', {}, [el('span', { class: `badge ${key.state}` }, [key.state])]),
        el('td', {}, [dateTime(key.created_at)]),
        el('td', {}, [
          key.activates_at ? `${dateTime(key.activates_at)} (${ago(key.activates_at)})` : '—',
        ]),
        el('td', {}, [
          key.retires_at ? `${dateTime(key.retires_at)} (${ago(key.retires_at)})` : '—',
        ]),
      ]),
    ),
  );
  renderTimeline(keys);
}

/**
 * One row per key: published from creation to activation, active until the next key of its
 * algorithm activates, retiring until it leaves the JWKS. Open-ended states run to the edge.
 * @param {any[]} keys
 */
function renderTimeline(keys) {
  const container = byId('key-timeline');
  const shown = keys.filter((key) => key.state !== 'retired');
  if (shown.length === 0) {
    container.replaceChildren(el('p', { class: 'muted' }, ['No keys.']));
    return;
  }
  const t = (/** @type {string | null} */ iso) => (iso ? Date.parse(iso) : NaN);
  const now = Date.now();
  const times = shown
    .flatMap((key) => [t(key.created_at), t(key.activates_at), t(key.retires_at)])
    .filter(Number.isFinite);
  const start = Math.min(...times, now);
  const span = Math.max(Math.max(...times, now) - start, 3600_000);
  const end = start + span * 1.15;
  const width = 1000;
  const labelWidth = 190;
  const rowHeight = 30;
  const height = shown.length * rowHeight + 50;
  const x = (/** @type {number} */ time) =>
    labelWidth + ((time - start) / (end - start)) * (width - labelWidth - 10);
  const chart = svg('svg', { viewBox: `0 0 ${width} ${height}`, class: 'timeline', role: 'img' });
  /** @type {string[]} */
  const described = [];
  shown.forEach((key, row) => {
    const y = row * rowHeight + 20;
    const created = t(key.created_at);
    const activates = Number.isFinite(t(key.activates_at)) ? t(key.activates_at) : created;
    const successor = shown
      .filter(
        (other) =>
          other.alg === key.alg && t(other.activates_at) > activates && other.state !== 'published',
      )
      .map((other) => t(other.activates_at))
      .sort((a, b) => a - b)[0];
    const retires = t(key.retires_at);
    /** @type {Array<[string, number, number]>} */
    const segments = [];
    if (activates > created)
      segments.push([
        'published',
        created,
        key.state === 'published' ? Math.max(activates, now) : activates,
      ]);
    if (key.state === 'published' && !(activates > created))
      segments.push(['published', created, end]);
    if (key.state === 'active') segments.push(['active', activates, end]);
    if (key.state === 'retiring') {
      const retiringFrom = successor ?? activates;
      segments.push(['active', activates, retiringFrom]);
      segments.push(['retiring', retiringFrom, Number.isFinite(retires) ? retires : end]);
    }
    const label = svg('text', { x: 0, y: y + 15, class: 'kid' });
    label.textContent = `${key.kid.length > 18 ? `${key.kid.slice(0, 17)}…` : key.kid} ${key.alg}`;
    chart.append(label);
    for (const [state, from, to] of segments) {
      const bar = svg('rect', {
        x: x(from),
        y,
        width: Math.max(2, x(to) - x(from)),
        height: rowHeight - 12,
        rx: 3,
        class: state,
      });
      const title = svg('title');
      title.textContent = `${key.kid}: ${state} from ${new Date(from).toLocaleString()}${to === end ? '' : ` to ${new Date(to).toLocaleString()}`}`;
      bar.append(title);
      chart.append(bar);
    }
    described.push(`${key.kid} ${key.state}`);
  });
  const axisY = shown.length * rowHeight + 22;
  chart.append(
    svg('line', { x1: labelWidth, x2: width - 10, y1: axisY, y2: axisY, class: 'grid' }),
  );
  for (const fraction of [0, 0.25, 0.5, 0.75, 1]) {
    const time = start + (end - start) * fraction;
    const tick = svg('text', {
      x: x(time),
      y: axisY + 16,
      'text-anchor': fraction === 0 ? 'start' : fraction === 1 ? 'end' : 'middle',
    });
    tick.textContent = new Date(time).toLocaleString(undefined, {
      month: 'short',
      day: 'numeric',
      hour: '2-digit',
      minute: '2-digit',
    });
    chart.append(tick);
  }
  chart.append(svg('line', { x1: x(now), x2: x(now), y1: 0, y2: axisY, class: 'now' }));
  const nowLabel = svg('text', { x: x(now) + 4, y: 10 });
  nowLabel.textContent = 'now';
  chart.append(nowLabel);
  chart.setAttribute('aria-label', `Key timeline: ${described.join(', ')}`);
  container.replaceChildren(chart);
}

async function rotateKey(/** @type {SubmitEvent} */ event) {
  event.preventDefault();
  const alg = /** @type {HTMLSelectElement} */ (byId('key-alg')).value;
  const propagation = /** @type {HTMLInputElement} */ (byId('key-propagation')).value;
  /** @type {Record<string, unknown>} */
  const body = {};
  if (alg) body.alg = alg;
  if (propagation !== '') body.propagation_seconds = Number(propagation);
  try {
    const key = await api('POST', '/admin/v1/keys/rotate', body);
    /** @type {HTMLDialogElement} */ (byId('key-dialog')).close();
    notify(`Published key ${key.kid}; it signs from ${dateTime(key.activates_at)}.`);
    await loadKeys();
  } catch (error) {
    if (!(error instanceof ApiError && error.status === 401))
      byId('key-error').textContent = error instanceof Error ? error.message : String(error);
  }
}

// ---- activity --------------------------------------------------------------------------

function renderClientChoices() {
  const select = /** @type {HTMLSelectElement} */ (byId('activity-client'));
  const chosen = select.value;
  select.replaceChildren(
    el('option', { value: '' }, ['All clients']),
    ...clients.map((client) =>
      el('option', { value: client.client_id }, [
        client.name ? `${client.name} (${client.client_id})` : client.client_id,
      ]),
    ),
  );
  select.value = clients.some((client) => client.client_id === chosen) ? chosen : '';
}

async function loadActivity() {
  const clientId = /** @type {HTMLSelectElement} */ (byId('activity-client')).value;
  const query = clientId ? `?client_id=${encodeURIComponent(clientId)}` : '';
  const [activity, audit] = await Promise.all([
    api('GET', `/admin/v1/activity${query}`),
    api('GET', '/admin/v1/audit?limit=50'),
  ]);
  const who = clientId ? `for ${clientId}` : 'for all clients';
  renderChart('chart-issued', 'summary-issued', activity.issued, 'issued', `tokens issued ${who}`);
  renderChart(
    'chart-failures',
    'summary-failures',
    activity.auth_failures,
    'failures',
    `authentication failures ${who}`,
  );
  byId('audit-table')
    .querySelector('tbody')
    ?.replaceChildren(
      ...audit.entries.map((/** @type {any} */ entry) =>
        el('tr', {}, [
          el('td', { title: entry.at }, [dateTime(entry.at)]),
          el('td', { class: 'mono' }, [entry.actor]),
          el('td', {}, [entry.action]),
          el('td', { class: 'mono' }, [entry.target ?? '']),
          el('td', {}, [
            entry.details && Object.keys(entry.details).length ? JSON.stringify(entry.details) : '',
          ]),
        ]),
      ),
    );
}

/**
 * An area chart of per-second counts, oldest at the left, with the peak marked on the axis.
 * @param {string} chartId @param {string} summaryId @param {number[]} values
 * @param {string} kind @param {string} what
 */
function renderChart(chartId, summaryId, values, kind, what) {
  const width = 900;
  const height = 180;
  const top = 12;
  const bottom = 22;
  const left = 36;
  const peak = Math.max(1, ...values);
  const total = values.reduce((sum, value) => sum + value, 0);
  const x = (/** @type {number} */ i) => left + (i / (values.length - 1)) * (width - left - 4);
  const y = (/** @type {number} */ v) => top + (1 - v / peak) * (height - top - bottom);
  let d = `M${x(0)},${y(0)}`;
  values.forEach((value, i) => {
    d += `L${x(i).toFixed(1)},${y(value).toFixed(1)}`;
  });
  d += `L${x(values.length - 1)},${y(0)}Z`;
  const chart = svg('svg', {
    viewBox: `0 0 ${width} ${height}`,
    preserveAspectRatio: 'none',
    role: 'img',
  });
  chart.setAttribute(
    'aria-label',
    `${total} ${what} in the last 15 minutes; peak ${Math.max(...values, 0)} per second`,
  );
  for (const v of [0, peak]) {
    chart.append(svg('line', { x1: left, x2: width - 4, y1: y(v), y2: y(v), class: 'grid' }));
    const label = svg('text', { x: left - 6, y: y(v) + 4, 'text-anchor': 'end' });
    label.textContent = String(v);
    chart.append(label);
  }
  for (const [i, text] of [
    [0, '−15 min'],
    [values.length / 3, '−10 min'],
    [(2 * values.length) / 3, '−5 min'],
    [values.length - 1, 'now'],
  ]) {
    const label = svg('text', {
      x: x(Number(i)),
      y: height - 6,
      'text-anchor': i === 0 ? 'start' : i === values.length - 1 ? 'end' : 'middle',
    });
    label.textContent = String(text);
    chart.append(label);
  }
  chart.append(svg('path', { d, class: `area ${kind}` }));
  byId(chartId).replaceChildren(chart);
  const lastMinute = values.slice(-60).reduce((sum, value) => sum + value, 0);
  byId(summaryId).textContent =
    `${total.toLocaleString()} in 15 min · ${lastMinute.toLocaleString()} in the last minute · peak ${Math.max(...values, 0)}/s`;
}

// ---- wiring ----------------------------------------------------------------------------

function start() {
  byId('sign-in-form').addEventListener(
    'submit',
    (event) => void signIn(/** @type {SubmitEvent} */ (event)),
  );
  byId('sign-out').addEventListener('click', () => signOut());
  for (const button of document.querySelectorAll('#nav [data-view]')) {
    button.addEventListener(
      'click',
      () => void show(/** @type {any} */ (button.getAttribute('data-view'))),
    );
  }
  byId('client-search').addEventListener('input', renderClients);
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
  byId('copy-secret').addEventListener('click', () => void copySecret());
  byId('rotate-key').addEventListener('click', () => {
    byId('key-error').textContent = '';
    /** @type {HTMLDialogElement} */ (byId('key-dialog')).showModal();
  });
  byId('key-form').addEventListener(
    'submit',
    (event) => void rotateKey(/** @type {SubmitEvent} */ (event)),
  );
  byId('activity-client').addEventListener('change', () => void attempt(loadActivity));
  for (const button of document.querySelectorAll('dialog [data-close]')) {
    button.addEventListener('click', () => button.closest('dialog')?.close());
  }
  // The secret leaves the page as soon as its dialog closes.
  byId('secret-dialog').addEventListener('close', () => {
    /** @type {HTMLInputElement} */ (byId('secret-value')).value = '';
  });
  byId('sign-in-id').focus();
}

start();
