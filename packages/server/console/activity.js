// @ts-check
/** The activity view: per-second charts of the last 15 minutes and the audit trail. */

import { api } from './api.js';
import { byId, dateTime, el, selectById, svg, tableBody } from './dom.js';

/** @typedef {import('./api.js').ClientView} ClientView */
/** @typedef {import('./api.js').AuditView} AuditView */
/** @typedef {import('./api.js').ActivitySeries} ActivitySeries */

/** Refills the client picker, keeping the current choice when that client still exists. @param {ClientView[]} clients */
export function renderClientChoices(clients) {
  const select = selectById('activity-client');
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

/** A person's issuer and subject, for the actor's tooltip. @param {AuditView} entry */
const personOf = (entry) => (entry.person ? `${entry.person.sub} at ${entry.person.iss}` : '');

export async function loadActivity() {
  const clientId = selectById('activity-client').value;
  const query = clientId ? `?client_id=${encodeURIComponent(clientId)}` : '';
  /** @type {[ActivitySeries, { entries: AuditView[] }]} */
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
  tableBody('audit-table')?.replaceChildren(
    ...audit.entries.map((entry) =>
      el('tr', {}, [
        el('td', { title: entry.at }, [dateTime(entry.at)]),
        el('td', { class: 'mono', title: personOf(entry) }, [entry.actor]),
        el('td', { class: 'mono' }, [entry.source_address ?? '']),
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
  /** @type {Array<[number, string]>} */
  const ticks = [
    [0, '−15 min'],
    [values.length / 3, '−10 min'],
    [(2 * values.length) / 3, '−5 min'],
    [values.length - 1, 'now'],
  ];
  for (const [i, text] of ticks) {
    const label = svg('text', {
      x: x(i),
      y: height - 6,
      'text-anchor': i === 0 ? 'start' : i === values.length - 1 ? 'end' : 'middle',
    });
    label.textContent = text;
    chart.append(label);
  }
  chart.append(svg('path', { d, class: `area ${kind}` }));
  byId(chartId).replaceChildren(chart);
  const lastMinute = values.slice(-60).reduce((sum, value) => sum + value, 0);
  byId(summaryId).textContent =
    `${total.toLocaleString()} in 15 min · ${lastMinute.toLocaleString()} in the last minute · peak ${Math.max(...values, 0)}/s`;
}
