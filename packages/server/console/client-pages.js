// @ts-check
/**
 * The client list a page at a time (`GET /admin/v1/clients`, 1,000 clients per page), so a
 * registry of a million clients loads as fast as a small one: the first page, "load more",
 * and a server-side search (client_id and name prefixes) over what is not loaded yet.
 */

import { api, attempt } from './api.js';

/** @typedef {import('./api.js').ClientView} ClientView */
/** @typedef {{ clients: ClientView[], next_cursor?: string | null }} ClientPage */

/**
 * Where the next page starts; null once every client is loaded.
 * @type {string | null}
 */
let nextCursor = null;
/** @type {ReturnType<typeof setTimeout> | undefined} */
let searchTimer;

/** Whether the registry has clients beyond the pages loaded. */
export const hasMore = () => nextCursor !== null;

export function resetPages() {
  nextCursor = null;
  clearTimeout(searchTimer);
}

/** @returns {Promise<ClientView[]>} */
export async function firstPage() {
  /** @type {ClientPage} */
  const page = await api('GET', '/admin/v1/clients');
  nextCursor = page.next_cursor ?? null;
  return page.clients;
}

/** @returns {Promise<ClientView[]>} */
export async function nextPage() {
  if (!nextCursor) return [];
  /** @type {ClientPage} */
  const page = await api('GET', `/admin/v1/clients?cursor=${encodeURIComponent(nextCursor)}`);
  nextCursor = page.next_cursor ?? null;
  return page.clients;
}

/**
 * With clients not loaded yet, a search also asks the server (debounced); `found` gets its
 * matches. What is loaded is still filtered as typed, by the caller.
 * @param {string} query
 * @param {(clients: ClientView[]) => void} found
 */
export function searchWholeRegistry(query, found) {
  clearTimeout(searchTimer);
  if (!nextCursor || query === '') return;
  searchTimer = setTimeout(() => {
    void attempt(async () => {
      /** @type {ClientPage} */
      const page = await api('GET', `/admin/v1/clients?limit=100&q=${encodeURIComponent(query)}`);
      found(page.clients);
    });
  }, 250);
}
