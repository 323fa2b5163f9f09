import { createRequire } from 'node:module';
import type * as Pkcs11 from 'pkcs11js';
import { KeyStoreConfigError } from '../key-store.js';

/** The pkcs11js module: constants, error classes and the `PKCS11` class. */
export type Binding = typeof Pkcs11;

/** PIN rejections: start-up stops with a message naming the PIN setting. */
const pinErrors = new Set([
  'CKR_PIN_INCORRECT',
  'CKR_PIN_INVALID',
  'CKR_PIN_LEN_RANGE',
  'CKR_PIN_LOCKED',
  'CKR_PIN_EXPIRED',
]);

let binding: Binding | undefined;
/**
 * Loaded on first use, so servers with sealed keys never load the native addon; it is an
 * optional dependency, so an install where it could not be built still serves sealed keys.
 */
export function pkcs11Binding(): Binding {
  try {
    binding ??= createRequire(import.meta.url)('pkcs11js') as Binding;
  } catch (cause) {
    throw new KeyStoreConfigError(
      'ERR_PKCS11_MODULE',
      `PKCS#11 keys need the optional dependency pkcs11js, which is not installed or not built (${(cause as Error).message.split('\n')[0]})`,
      { cause },
    );
  }
  return binding;
}

export function pkcs11ErrorName(error: unknown): string | undefined {
  const message = error instanceof Error ? error.message : '';
  return /^CKR_[A-Z0-9_]+/.exec(message)?.[0];
}

/** C_Initialize with OS locking (signing workers call the library from their own threads). */
export function initialise(p: Binding, lib: Pkcs11.PKCS11, modulePath: string): void {
  try {
    lib.C_Initialize({ flags: p.CKF_OS_LOCKING_OK });
  } catch (cause) {
    // The library is process-wide: another user in this process initialised it already.
    if (pkcs11ErrorName(cause) !== 'CKR_CRYPTOKI_ALREADY_INITIALIZED')
      throw new KeyStoreConfigError(
        'ERR_PKCS11_MODULE',
        `the PKCS#11 module ${modulePath} failed to initialise: ${(cause as Error).message}`,
        { cause },
      );
  }
}

/** The one slot whose token is labelled exactly `tokenLabel` (labels are space-padded). */
export function findTokenSlot(p: Binding, lib: Pkcs11.PKCS11, tokenLabel: string): Pkcs11.Handle {
  const labels: string[] = [];
  const slots = lib.C_GetSlotList(true).filter((slot) => {
    const info = lib.C_GetTokenInfo(slot);
    // A free slot (SoftHSM2 always offers one) holds no token worth naming.
    if ((info.flags & p.CKF_TOKEN_INITIALIZED) === 0) return false;
    const label = tokenLabelOf(info);
    labels.push(label);
    return label === tokenLabel;
  });
  if (slots.length !== 1)
    throw new KeyStoreConfigError(
      'ERR_PKCS11_TOKEN_NOT_FOUND',
      slots.length === 0
        ? `no PKCS#11 token labelled "${tokenLabel}" (TESSERA_PKCS11_TOKEN_LABEL); tokens present: ${labels.map((l) => JSON.stringify(l)).join(', ') || 'none'}`
        : `${slots.length} PKCS#11 tokens are labelled "${tokenLabel}" (TESSERA_PKCS11_TOKEN_LABEL); the label must name one`,
    );
  return slots[0]!;
}

export const tokenLabelOf = (info: Pkcs11.TokenInfo): string => info.label.replace(/ +$/, '');

/** C_Login as the user; a rejected PIN becomes a message naming the PIN setting, never the PIN. */
export function logIn(
  p: Binding,
  lib: Pkcs11.PKCS11,
  session: Pkcs11.Handle,
  options: {
    tokenLabel: string;
    pin: string;
    pinSource: 'TESSERA_PKCS11_PIN' | 'TESSERA_PKCS11_PIN_FILE';
  },
): void {
  try {
    // Login state belongs to the application, so one login covers every session.
    lib.C_Login(session, p.CKU_USER, options.pin);
  } catch (cause) {
    const name = pkcs11ErrorName(cause);
    if (name === 'CKR_USER_ALREADY_LOGGED_IN') return;
    if (name && pinErrors.has(name))
      throw new KeyStoreConfigError(
        'ERR_PKCS11_PIN',
        `PKCS#11 token "${options.tokenLabel}" rejected the PIN (${name}): check ${options.pinSource === 'TESSERA_PKCS11_PIN' ? 'TESSERA_PKCS11_PIN' : 'the file named by TESSERA_PKCS11_PIN_FILE'}`,
        { cause },
      );
    throw cause;
  }
}
