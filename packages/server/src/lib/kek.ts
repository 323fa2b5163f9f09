import { createCipheriv, createDecipheriv, createHash, randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';

/**
 * The key-encryption key (KEK) protects private signing keys and the secret-hash pepper at
 * rest with AES-256-GCM. Envelopes name the KEK that sealed them (`kekId`), so a later KEK
 * rotation can tell which KEK opens which envelope.
 */
export class KeyEncryptionKey {
  readonly id: string;
  readonly #key: Buffer;

  constructor(key: Buffer) {
    if (key.length !== 32) throw new Error('a key-encryption key must be 32 bytes');
    this.#key = key;
    this.id = createHash('sha256').update(key).digest('base64url').slice(0, 12);
  }

  seal(plaintext: Uint8Array, associatedData: string): string {
    const iv = randomBytes(12);
    const cipher = createCipheriv('aes-256-gcm', this.#key, iv);
    cipher.setAAD(Buffer.from(associatedData));
    const body = Buffer.concat([cipher.update(plaintext), cipher.final()]);
    const tag = cipher.getAuthTag();
    return [
      'v1',
      this.id,
      iv.toString('base64url'),
      body.toString('base64url'),
      tag.toString('base64url'),
    ].join('.');
  }

  open(envelope: string, associatedData: string): Buffer {
    const [version, kekId, iv, body, tag] = envelope.split('.');
    if (version !== 'v1' || !kekId || !iv || body === undefined || !tag) {
      throw new KekMismatchError('unrecognised encrypted envelope');
    }
    if (kekId !== this.id) {
      throw new KekMismatchError(
        `data was encrypted under key-encryption key ${kekId}, but the configured one is ${this.id}`,
      );
    }
    try {
      const decipher = createDecipheriv('aes-256-gcm', this.#key, Buffer.from(iv, 'base64url'));
      decipher.setAAD(Buffer.from(associatedData));
      decipher.setAuthTag(Buffer.from(tag, 'base64url'));
      return Buffer.concat([decipher.update(Buffer.from(body, 'base64url')), decipher.final()]);
    } catch (cause) {
      throw new KekMismatchError('encrypted data failed authentication', { cause });
    }
  }
}

export class KekMismatchError extends Error {
  readonly code = 'ERR_TESSERA_KEK_MISMATCH';
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'KekMismatchError';
  }
}

/**
 * `TESSERA_KEK` (32 bytes as base64, base64url or hex) wins; otherwise a key file is read, or
 * created with mode 0600 on first use.
 */
export function loadKek(envValue: string | undefined, keyFile: string): KeyEncryptionKey {
  if (envValue !== undefined && envValue !== '')
    return new KeyEncryptionKey(decodeKek(envValue, 'TESSERA_KEK'));
  if (existsSync(keyFile))
    return new KeyEncryptionKey(decodeKek(readFileSync(keyFile, 'utf8').trim(), keyFile));
  mkdirSync(dirname(keyFile), { recursive: true });
  const key = randomBytes(32);
  try {
    writeFileSync(keyFile, `${key.toString('base64')}\n`, { mode: 0o600, flag: 'wx' });
  } catch (error) {
    // Another process (a second worker or the CLI) created it first: use theirs.
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') {
      return new KeyEncryptionKey(decodeKek(readFileSync(keyFile, 'utf8').trim(), keyFile));
    }
    throw error;
  }
  chmodSync(keyFile, 0o600);
  return new KeyEncryptionKey(key);
}

function decodeKek(text: string, source: string): Buffer {
  const candidates = [
    /^[0-9a-fA-F]{64}$/.test(text) ? Buffer.from(text, 'hex') : undefined,
    Buffer.from(text, 'base64'),
    Buffer.from(text, 'base64url'),
  ];
  const key = candidates.find((candidate) => candidate?.length === 32);
  if (!key) throw new Error(`${source} must hold 32 bytes encoded as base64 or hex`);
  return key;
}
