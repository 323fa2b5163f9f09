// @ts-check
/** The keys view: the signing keys' table, their timeline, and the rotate-key dialog. */

import { api, isSignedOut } from './api.js';
import {
  ago,
  byId,
  dateTime,
  dialogById,
  el,
  inputById,
  messageOf,
  notify,
  selectById,
  svg,
  tableBody,
} from './dom.js';

/** @typedef {import('./api.js').KeyView} KeyView */

export async function loadKeys() {
  /** @type {{ keys: KeyView[] }} */
  const { keys } = await api('GET', '/admin/v1/keys');
  tableBody('keys-table')?.replaceChildren(
    ...keys.map((key) =>
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
 * @param {KeyView[]} keys
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

/** @param {SubmitEvent} event */
async function rotateKey(event) {
  event.preventDefault();
  const alg = selectById('key-alg').value;
  const propagation = inputById('key-propagation').value;
  /** @type {Record<string, unknown>} */
  const body = {};
  if (alg) body.alg = alg;
  if (propagation !== '') body.propagation_seconds = Number(propagation);
  try {
    const key = await api('POST', '/admin/v1/keys/rotate', body);
    dialogById('key-dialog').close();
    notify(`Published key ${key.kid}; it signs from ${dateTime(key.activates_at)}.`);
    await loadKeys();
  } catch (error) {
    if (!isSignedOut(error)) byId('key-error').textContent = messageOf(error);
  }
}

/** Wires the keys view's controls. */
export function wireKeys() {
  byId('rotate-key').addEventListener('click', () => {
    byId('key-error').textContent = '';
    dialogById('key-dialog').showModal();
  });
  byId('key-form').addEventListener(
    'submit',
    (event) => void rotateKey(/** @type {SubmitEvent} */ (event)),
  );
}
