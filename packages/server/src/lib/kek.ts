import { createCipheriv, createDecipheriv, createHash, hkdfSync, randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';

/**
 * The key-encryption keys (KEK) protect private signing keys and the secret-hash pepper at
 * rest with AES-256-GCM. The first key seals; every listed key opens, so a KEK rotation can
 * re-encrypt while running servers still read envelopes sealed under the previous key.
 * Envelopes name the KEK that sealed them (`kekId`).
 */
export class KeyEncryptionKey {
  #keys: Map<string, Buffer>;
  #primary: string;

  /**
   * @param keys the sealing key first, then older keys that may still open envelopes
   * @param reload where to look for keys added later (a rotation by another process)
   */
  constructor(
    keys: Buffer[],
    private readonly reload?: () => Buffer[],
  ) {
    if (keys.length === 0) throw new Error('no key-encryption key');
    for (const key of keys)
      if (key.length !== 32) throw new Error('a key-encryption key must be 32 bytes');
    this.#keys = new Map(keys.map((key) => [kekId(key), key]));
    this.#primary = kekId(keys[0]!);
  }

  /** Id of the key that seals. */
  get id(): string {
    return this.#primary;
  }

  /** Ids of every key that can open envelopes, sealing key first. */
  get ids(): string[] {
    return [...this.#keys.keys()];
  }

  seal(plaintext: Uint8Array, associatedData: string): string {
    const iv = randomBytes(12);
    const cipher = createCipheriv('aes-256-gcm', this.#keys.get(this.#primary)!, iv);
    cipher.setAAD(Buffer.from(associatedData));
    const body = Buffer.concat([cipher.update(plaintext), cipher.final()]);
    const tag = cipher.getAuthTag();
    return [
      'v1',
      this.#primary,
      iv.toString('base64url'),
      body.toString('base64url'),
      tag.toString('base64url'),
    ].join('.');
  }

  open(envelope: string, associatedData: string): Buffer {
    const [version, id, iv, body, tag] = envelope.split('.');
    if (version !== 'v1' || !id || !iv || body === undefined || !tag) {
      throw new KekMismatchError('unrecognised encrypted envelope');
    }
    let key = this.#keys.get(id);
    if (!key && this.reload) {
      // Sealed under a key another process added (kek rotate): look again once.
      const reloaded = this.reload();
      this.#keys = new Map(reloaded.map((candidate) => [kekId(candidate), candidate]));
      this.#primary = kekId(reloaded[0]!);
      key = this.#keys.get(id);
    }
    if (!key) {
      throw new KekMismatchError(
        `data was encrypted under key-encryption key ${id}, but the configured one is ${this.#primary}`,
      );
    }
    try {
      const decipher = createDecipheriv('aes-256-gcm', key, Buffer.from(iv, 'base64url'));
      decipher.setAAD(Buffer.from(associatedData));
      decipher.setAuthTag(Buffer.from(tag, 'base64url'));
      return Buffer.concat([decipher.update(Buffer.from(body, 'base64url')), decipher.final()]);
    } catch (cause) {
      throw new KekMismatchError('encrypted data failed authentication', { cause });
    }
  }

  /** Opens an envelope and seals its content again under the sealing key. */
  reseal(envelope: string, associatedData: string): string {
    return this.seal(this.open(envelope, associatedData), associatedData);
  }

  /**
   * Keys for another purpose (`label`), derived with HKDF-SHA-256 from each KEK, sealing key
   * first: secrets every process sharing the KEK agrees on without storing them (DPoP nonces).
   */
  derive(label: string): Buffer[] {
    return [...this.#keys.values()]
      .sort((a, b) => (kekId(a) === this.#primary ? -1 : kekId(b) === this.#primary ? 1 : 0))
      .map((key) => Buffer.from(hkdfSync('sha256', key, Buffer.alloc(0), `tessera:${label}`, 32)));
  }

  /** Whether an envelope is sealed under the current sealing key. */
  isCurrent(envelope: string): boolean {
    return envelope.split('.')[1] === this.#primary;
  }
}

export function kekId(key: Buffer): string {
  return createHash('sha256').update(key).digest('base64url').slice(0, 12);
}

export class KekMismatchError extends Error {
  readonly code = 'ERR_TESSERA_KEK_MISMATCH';
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'KekMismatchError';
  }
}

/** The key file is gone while the database holds data sealed under it. */
export class KekMissingError extends Error {
  readonly code = 'ERR_TESSERA_KEK_MISSING';
  constructor(readonly keyFile: string) {
    super(
      `the key-encryption key file ${keyFile} is missing, but the database holds data sealed ` +
        'under a key-encryption key (signing keys, the secret pepper). Restore that file from ' +
        'your backup or set TESSERA_KEK to its key; no new key file was written.',
    );
    this.name = 'KekMissingError';
  }
}

/**
 * `TESSERA_KEK` (32 bytes as base64, base64url or hex; several comma-separated, sealing key
 * first) wins; otherwise the key file (one key per line, sealing key first) is read, or
 * created with mode 0600 on first use.
 */
export function loadKek(
  envValue: string | undefined,
  keyFile: string,
  options: {
    /**
     * Whether a missing key file may be created. False when the database already holds data
     * sealed under some key-encryption key: a fresh key could open none of it, and writing one
     * would only hide that the real key file is gone (issue 16).
     */
    create?: boolean;
  } = {},
): KeyEncryptionKey {
  if (envValue !== undefined && envValue !== '') {
    return new KeyEncryptionKey(
      envValue.split(',').map((part) => decodeKek(part.trim(), 'TESSERA_KEK')),
    );
  }
  const fromFile = () => readKeyFile(keyFile);
  if (existsSync(keyFile)) return new KeyEncryptionKey(fromFile(), fromFile);
  if (options.create === false) throw new KekMissingError(keyFile);
  mkdirSync(dirname(keyFile), { recursive: true });
  const key = randomBytes(32);
  try {
    writeFileSync(keyFile, `${key.toString('base64')}\n`, { mode: 0o600, flag: 'wx' });
  } catch (error) {
    // Another process (a second worker or the CLI) created it first: use theirs.
    if ((error as NodeJS.ErrnoException).code === 'EEXIST')
      return new KeyEncryptionKey(fromFile(), fromFile);
    throw error;
  }
  chmodSync(keyFile, 0o600);
  return new KeyEncryptionKey([key], fromFile);
}

export function readKeyFile(keyFile: string): Buffer[] {
  const lines = readFileSync(keyFile, 'utf8')
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line !== '' && !line.startsWith('#'));
  if (lines.length === 0) throw new Error(`${keyFile} holds no key-encryption key`);
  return lines.map((line) => decodeKek(line, keyFile));
}

/** Replaces the key file atomically (write, fsync by rename), keeping mode 0600. */
export function writeKeyFile(keyFile: string, keys: Buffer[]): void {
  const temporary = `${keyFile}.${process.pid}.tmp`;
  writeFileSync(temporary, keys.map((key) => `${key.toString('base64')}\n`).join(''), {
    mode: 0o600,
    flush: true,
  });
  renameSync(temporary, keyFile);
}

export function decodeKek(text: string, source: string): Buffer {
  const candidates = [
    /^[0-9a-fA-F]{64}$/.test(text) ? Buffer.from(text, 'hex') : undefined,
    Buffer.from(text, 'base64'),
    Buffer.from(text, 'base64url'),
  ];
  const key = candidates.find((candidate) => candidate?.length === 32);
  if (!key) throw new Error(`${source} must hold 32-byte keys encoded as base64 or hex`);
  return key;
}
