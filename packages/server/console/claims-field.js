// @ts-check
/**
 * The client form's claims field (issue 19): a JSON object of extra token claims. The server
 * checks the rest (reserved names, size) and its refusal is shown in the form.
 */

import { byId } from './dom.js';

/** @param {string} id @returns {HTMLTextAreaElement} */
const textAreaById = (id) => byId(id);

/** Shows a client's claims in the form (empty when it has none). @param {Record<string, unknown> | undefined} claims */
export function showClaims(claims) {
  textAreaById('client-claims').value =
    claims && Object.keys(claims).length > 0 ? JSON.stringify(claims, null, 2) : '';
}

/**
 * The claims typed into the form: an object, `{}` when empty.
 * @returns {Record<string, unknown>}
 */
export function readClaims() {
  const text = textAreaById('client-claims').value.trim();
  if (text === '') return {};
  /** @type {unknown} */
  let parsed;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw new Error('Claims must be JSON, e.g. {"merchant": "m-1"}');
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed))
    throw new Error('Claims must be a JSON object');
  return /** @type {Record<string, unknown>} */ (parsed);
}
