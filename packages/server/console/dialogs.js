// @ts-check
/** The dialogs the views share: a new secret shown once, and a confirmation. */

import { byId, dialogById, inputById } from './dom.js';

/** Shows a new secret once. @param {string} title @param {string} clientId @param {string} secret */
export function showSecret(title, clientId, secret) {
  byId('secret-dialog-title').textContent = title;
  inputById('secret-client-id').value = clientId;
  inputById('secret-value').value = secret;
  byId('copy-status').textContent = '';
  dialogById('secret-dialog').showModal();
}

async function copySecret() {
  const input = inputById('secret-value');
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
export function confirmAction(message, confirmLabel) {
  const dialog = dialogById('confirm-dialog');
  byId('confirm-message').textContent = message;
  byId('confirm-ok').textContent = confirmLabel;
  dialog.returnValue = '';
  dialog.showModal();
  byId('confirm-ok').focus();
  return new Promise((resolve) => {
    dialog.addEventListener('close', () => resolve(dialog.returnValue === 'ok'), { once: true });
  });
}

/** Wires the secret dialog: copying, and clearing the secret as soon as the dialog closes. */
export function wireSecretDialog() {
  byId('copy-secret').addEventListener('click', () => void copySecret());
  byId('secret-dialog').addEventListener('close', () => {
    inputById('secret-value').value = '';
  });
}
