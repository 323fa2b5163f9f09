// @ts-check
/** Token quota use (issue 22): one bar per window of a client's quota, from /usage. */

import { api } from './api.js';
import { el } from './dom.js';

/**
 * @typedef {{ period: string, limit: number, used: number, resets_at: string }} QuotaWindow
 * @typedef {{ client_id: string, token_quota: string | null, windows: QuotaWindow[] }} ClientUsage
 */

/**
 * A placeholder that fills itself with a bar per window of `clientId`'s quota (nothing for a
 * client without one, or when the request fails: the table stays usable).
 * @param {string} clientId
 */
export function quotaBars(clientId) {
  const holder = el('div', { class: 'quota-bars', 'data-quota-for': clientId });
  api('GET', `/admin/v1/clients/${encodeURIComponent(clientId)}/usage`).then(
    (/** @type {ClientUsage} */ usage) => holder.replaceChildren(...usage.windows.map(bar)),
    () => holder.replaceChildren(),
  );
  return holder;
}

/** @param {QuotaWindow} window */
function bar(window) {
  const share = window.limit > 0 ? Math.min(1, window.used / window.limit) : 0;
  const label = `${window.used} of ${window.limit} tokens per ${window.period}`;
  const fill = el('span', { class: 'quota-fill' });
  // Through the CSSOM: the console's CSP (style-src 'self') refuses style attributes.
  fill.style.width = `${Math.round(share * 100)}%`;
  return el(
    'div',
    {
      class: `quota-bar${share >= 1 ? ' full' : share >= 0.8 ? ' high' : ''}`,
      role: 'meter',
      'aria-label': label,
      'aria-valuemin': '0',
      'aria-valuemax': String(window.limit),
      'aria-valuenow': String(window.used),
      title: `${label}; resets ${new Date(window.resets_at).toLocaleString()}`,
    },
    [
      fill,
      el('span', { class: 'quota-label' }, [`${window.used}/${window.limit} per ${window.period}`]),
    ],
  );
}
