import { readFileSync } from 'node:fs';
import { KeyStoreConfigError } from '../key-store.js';

/**
 * The token PIN, from `TESSERA_PKCS11_PIN` or the file named by `TESSERA_PKCS11_PIN_FILE`
 * (one trailing newline removed). Never a flag: flags show in `ps` and shell history.
 */
export function pkcs11Pin(settings: { pin?: string | undefined; pinFile?: string | undefined }): {
  pin: string;
  pinSource: 'TESSERA_PKCS11_PIN' | 'TESSERA_PKCS11_PIN_FILE';
} {
  if (settings.pin !== undefined && settings.pinFile !== undefined)
    throw new KeyStoreConfigError(
      'ERR_PKCS11_PIN',
      'set TESSERA_PKCS11_PIN or TESSERA_PKCS11_PIN_FILE, not both',
    );
  if (settings.pin !== undefined && settings.pin !== '')
    return { pin: settings.pin, pinSource: 'TESSERA_PKCS11_PIN' };
  if (settings.pinFile !== undefined && settings.pinFile !== '') {
    let pin: string;
    try {
      pin = readFileSync(settings.pinFile, 'utf8').replace(/\r?\n$/, '');
    } catch (cause) {
      throw new KeyStoreConfigError(
        'ERR_PKCS11_PIN',
        `cannot read the PIN file named by TESSERA_PKCS11_PIN_FILE (${settings.pinFile}): ${(cause as NodeJS.ErrnoException).code ?? 'error'}`,
        { cause },
      );
    }
    if (pin === '')
      throw new KeyStoreConfigError(
        'ERR_PKCS11_PIN',
        'the file named by TESSERA_PKCS11_PIN_FILE is empty',
      );
    return { pin, pinSource: 'TESSERA_PKCS11_PIN_FILE' };
  }
  throw new KeyStoreConfigError(
    'ERR_PKCS11_PIN',
    'PKCS#11 keys need the token PIN in TESSERA_PKCS11_PIN or in the file named by TESSERA_PKCS11_PIN_FILE',
  );
}
