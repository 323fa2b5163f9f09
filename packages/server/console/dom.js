// @ts-check
/** DOM and formatting helpers shared by the console's views. Text is set with textContent only. */

const svgNs = 'http://www.w3.org/2000/svg';

/**
 * The element with this id; the page's markup guarantees it exists.
 * @template {HTMLElement} [T=HTMLElement]
 * @param {string} id
 * @returns {T}
 */
export const byId = (id) => /** @type {T} */ (document.getElementById(id));

/** @param {string} id @returns {HTMLInputElement} */
export const inputById = (id) => byId(id);

/** @param {string} id @returns {HTMLSelectElement} */
export const selectById = (id) => byId(id);

/** @param {string} id @returns {HTMLDialogElement} */
export const dialogById = (id) => byId(id);

/** The `<tbody>` of the table with this id. @param {string} id */
export const tableBody = (id) => byId(id).querySelector('tbody');

/**
 * @param {string} tag
 * @param {Record<string, string>} [attributes]
 * @param {Array<Node | string>} [children]
 */
export function el(tag, attributes = {}, children = []) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) node.setAttribute(name, value);
  node.append(...children);
  return node;
}

/**
 * @param {string} tag
 * @param {Record<string, string | number>} [attributes]
 */
export function svg(tag, attributes = {}) {
  const node = document.createElementNS(svgNs, tag);
  for (const [name, value] of Object.entries(attributes)) node.setAttribute(name, String(value));
  return node;
}

/** @param {string} message @param {boolean} [isError] */
export function notify(message, isError = false) {
  const notice = byId('notice');
  notice.textContent = message;
  notice.classList.toggle('error', isError);
  notice.setAttribute('role', isError ? 'alert' : 'status');
}

/** @param {unknown} error */
export const messageOf = (error) => (error instanceof Error ? error.message : String(error));

// ---- time formatting -------------------------------------------------------------------

/** @param {number} seconds */
export function duration(seconds) {
  const s = Math.abs(Math.round(seconds));
  if (s < 60) return `${s} s`;
  if (s < 3600) return `${Math.round(s / 60)} min`;
  if (s < 172800) return `${Math.round(s / 3600)} h`;
  return `${Math.round(s / 86400)} d`;
}

/** @param {string | null | undefined} iso */
export function ago(iso) {
  if (!iso) return 'never';
  const seconds = (Date.now() - Date.parse(iso)) / 1000;
  return seconds >= 0 ? `${duration(seconds)} ago` : `in ${duration(seconds)}`;
}

/** @param {string | null | undefined} iso */
export function dateTime(iso) {
  if (!iso) return '—';
  return new Date(iso).toLocaleString(undefined, { dateStyle: 'medium', timeStyle: 'short' });
}
