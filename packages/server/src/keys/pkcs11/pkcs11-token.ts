import { availableParallelism } from 'node:os';
import type * as Pkcs11 from 'pkcs11js';
import type { Binding } from './pkcs11-module.js';
import {
  KeyStoreConfigError,
  KeyStoreUnavailableError,
  type KeyStoreHealth,
} from '../key-store.js';
import {
  findTokenSlot,
  initialise,
  logIn,
  pkcs11Binding,
  pkcs11ErrorName,
  tokenLabelOf,
} from './pkcs11-module.js';
import { SessionPool } from './session-pool.js';
import { SignWorkers } from './sign-workers.js';

export { pkcs11ErrorName } from './pkcs11-module.js';

export interface Pkcs11TokenOptions {
  /** Path of the PKCS#11 library (`TESSERA_PKCS11_MODULE`). */
  modulePath: string;
  /** The token's label, matched exactly (`TESSERA_PKCS11_TOKEN_LABEL`). */
  tokenLabel: string;
  pin: string;
  /** The setting the PIN came from, named when the token rejects it. */
  pinSource: 'TESSERA_PKCS11_PIN' | 'TESSERA_PKCS11_PIN_FILE';
  /** Signing worker threads, each with a session; default: the number of cores. */
  workers?: number;
  /** How often the token is looked at, and how often a lost one is re-initialised. */
  probeIntervalMs?: number;
  onHealthChange?: (health: KeyStoreHealth) => void;
  now?: () => number;
}

/**
 * One PKCS#11 token, logged in: a session for key management on the main thread (key
 * generation runs through the binding's async call) and signing worker threads with a session
 * each (sign-workers.ts), so the event loop only posts a batch of signing requests per turn.
 * A failing token is noticed by a periodic probe
 * (`C_GetTokenInfo`) or by a failed call; the token is then re-initialised
 * (`C_Finalize`/`C_Initialize`, which is what makes SoftHSM2 and HSM libraries see a token
 * again) on every probe tick until it answers, while callers get `KeyStoreUnavailableError`.
 */
export class Pkcs11Token {
  readonly p: Binding;
  readonly #options: Required<Omit<Pkcs11TokenOptions, 'onHealthChange'>> &
    Pick<Pkcs11TokenOptions, 'onHealthChange'>;
  readonly #lib: Pkcs11.PKCS11;
  #slot: Pkcs11.Handle | null = null;
  #pool: SessionPool | null = null;
  #signSessions: Pkcs11.Handle[] = [];
  readonly #workers: SignWorkers;
  #mechanisms = new Set<number>();
  #keys = new Map<string, Pkcs11.Handle>();
  #health: KeyStoreHealth = { state: 'ok' };
  #timer: NodeJS.Timeout | undefined;
  #waitedTicks = 0;
  #closed = false;

  private constructor(options: Pkcs11TokenOptions) {
    this.p = pkcs11Binding();
    this.#options = {
      workers: availableParallelism(),
      probeIntervalMs: 2000,
      now: () => Math.floor(Date.now() / 1000),
      ...options,
    };
    this.#lib = new this.p.PKCS11();
    this.#workers = new SignWorkers(options.modulePath, Math.max(1, this.#options.workers));
  }

  /** Loads the module, finds the token and logs in; any failure here stops start-up. */
  static open(options: Pkcs11TokenOptions): Pkcs11Token {
    const token = new Pkcs11Token(options);
    try {
      token.#lib.load(options.modulePath);
    } catch (cause) {
      throw new KeyStoreConfigError(
        'ERR_PKCS11_MODULE',
        `cannot load the PKCS#11 module ${options.modulePath} (TESSERA_PKCS11_MODULE): ${(cause as Error).message}`,
        { cause },
      );
    }
    try {
      token.#connect();
    } catch (error) {
      void token.#workers.close();
      throw error;
    }
    token.#timer = setInterval(() => token.#tick(), token.#options.probeIntervalMs);
    token.#timer.unref();
    return token;
  }

  get tokenLabel(): string {
    return this.#options.tokenLabel;
  }

  health(): KeyStoreHealth {
    return this.#health;
  }

  supports(mechanism: number): boolean {
    return this.#mechanisms.has(mechanism);
  }

  /**
   * Runs `fn` with the key-management session (one caller at a time). A PKCS#11 failure makes the token be
   * probed at once; if the token is gone the caller gets `KeyStoreUnavailableError`.
   */
  async withSession<T>(fn: (lib: Pkcs11.PKCS11, session: Pkcs11.Handle) => Promise<T>): Promise<T> {
    const pool = this.#pool;
    if (this.#health.state !== 'ok' || !pool) throw this.#unavailable();
    const session = await pool.acquire();
    try {
      return await fn(this.#lib, session);
    } catch (error) {
      if (pkcs11ErrorName(error) && !this.#probe()) throw this.#unavailable(error);
      throw error;
    } finally {
      pool.release(session);
    }
  }

  /**
   * Signs `data` with the private key labelled `keyLabel` on a signing worker. A key handle
   * that went stale (the object was re-created) is looked up once more.
   */
  async sign(keyLabel: string, mechanism: Pkcs11.Mechanism, data: Buffer): Promise<Buffer> {
    try {
      return await this.#signOnce(keyLabel, mechanism, data);
    } catch (error) {
      const name = pkcs11ErrorName(error);
      if (name !== 'CKR_KEY_HANDLE_INVALID' && name !== 'CKR_OBJECT_HANDLE_INVALID') throw error;
      this.#keys.delete(keyLabel);
      return await this.#signOnce(keyLabel, mechanism, data);
    }
  }

  async #signOnce(keyLabel: string, mechanism: Pkcs11.Mechanism, data: Buffer): Promise<Buffer> {
    if (this.#health.state !== 'ok') throw this.#unavailable();
    const key =
      this.#keys.get(keyLabel) ??
      (await this.withSession(async (_lib, session) => this.privateKey(session, keyLabel)));
    try {
      return await this.#workers.sign(this.#signSessions, key, mechanism, data);
    } catch (error) {
      if (pkcs11ErrorName(error) && !this.#probe()) throw this.#unavailable(error);
      throw error;
    }
  }

  /** The private key object labelled `label` (found once, then cached until re-initialisation). */
  privateKey(session: Pkcs11.Handle, label: string): Pkcs11.Handle {
    let handle = this.#keys.get(label);
    if (!handle) {
      const [found, ...more] = this.findObjects(session, label, this.p.CKO_PRIVATE_KEY);
      if (!found || more.length > 0)
        throw new KeyStoreConfigError(
          'ERR_KEY_LOCATION',
          `token "${this.tokenLabel}" holds ${found ? 1 + more.length : 0} private keys labelled "${label}", expected 1`,
        );
      handle = found;
      this.#keys.set(label, handle);
    }
    return handle;
  }

  forgetKey(label: string): void {
    this.#keys.delete(label);
  }

  findObjects(session: Pkcs11.Handle, label: string, objectClass?: number): Pkcs11.Handle[] {
    const template: Pkcs11.Template = [{ type: this.p.CKA_LABEL, value: label }];
    if (objectClass !== undefined) template.push({ type: this.p.CKA_CLASS, value: objectClass });
    this.#lib.C_FindObjectsInit(session, template);
    try {
      return this.#lib.C_FindObjects(session, 16);
    } finally {
      this.#lib.C_FindObjectsFinal(session);
    }
  }

  async close(): Promise<void> {
    this.#closed = true;
    clearInterval(this.#timer);
    await this.#pool?.drain(5000);
    await this.#workers.close();
    this.#disconnect();
  }

  #connect(): void {
    const { p } = this;
    const lib = this.#lib;
    const { tokenLabel, modulePath, pin, pinSource } = this.#options;
    initialise(p, lib, modulePath);
    try {
      const slot = findTokenSlot(p, lib, tokenLabel);
      const flags = p.CKF_SERIAL_SESSION | p.CKF_RW_SESSION;
      const sessions = Array.from({ length: this.#workers.size + 1 }, () =>
        lib.C_OpenSession(slot, flags),
      );
      logIn(p, lib, sessions[0]!, { tokenLabel, pin, pinSource });
      this.#mechanisms = new Set(lib.C_GetMechanismList(slot));
      this.#slot = slot;
      this.#keys.clear();
      this.#pool = new SessionPool(sessions.slice(0, 1));
      this.#signSessions = sessions.slice(1);
    } catch (error) {
      this.#disconnect();
      throw error;
    }
  }

  #disconnect(): void {
    const pool = this.#pool;
    this.#pool = null;
    pool?.fail(() => this.#unavailable());
    if (this.#slot) {
      try {
        this.#lib.C_CloseAllSessions(this.#slot);
      } catch {
        // The token is gone; its sessions went with it.
      }
    }
    this.#slot = null;
    this.#signSessions = [];
    try {
      this.#lib.C_Finalize();
    } catch {
      // Not initialised, or the module is failing: C_Initialize is what counts.
    }
  }

  /** Whether the token still answers; marks it unavailable if not. */
  #probe(): boolean {
    if (this.#health.state !== 'ok') return false;
    try {
      if (!this.#slot) throw new Error('no slot');
      const label = tokenLabelOf(this.#lib.C_GetTokenInfo(this.#slot));
      if (label !== this.#options.tokenLabel)
        throw new Error(`the slot now holds token "${label}"`);
      return true;
    } catch (error) {
      this.#setHealth({
        state: 'unavailable',
        reason: `PKCS#11 token "${this.tokenLabel}" stopped answering: ${(error as Error).message}`,
        since: this.#options.now(),
      });
      return false;
    }
  }

  #tick(): void {
    if (this.#closed) return;
    if (this.#health.state === 'ok') {
      this.#probe();
      return;
    }
    // C_Finalize under a running call is undefined behaviour; calls on a lost token fail
    // fast, so wait a few ticks for them before re-initialising anyway.
    const busy = (this.#pool?.busy ?? 0) + this.#workers.busy;
    if (busy > 0 && this.#waitedTicks++ < 5) return;
    this.#waitedTicks = 0;
    this.#disconnect();
    try {
      this.#connect();
      this.#setHealth({ state: 'ok' });
    } catch (error) {
      const since = this.#health.state === 'unavailable' ? this.#health.since : this.#options.now();
      this.#setHealth({ state: 'unavailable', reason: (error as Error).message, since });
    }
  }

  #setHealth(health: KeyStoreHealth): void {
    const changed = health.state !== this.#health.state;
    this.#health = health;
    if (changed) this.#options.onHealthChange?.(health);
  }

  #unavailable(cause?: unknown): KeyStoreUnavailableError {
    const reason =
      this.#health.state === 'unavailable' ? this.#health.reason : 'PKCS#11 token not connected';
    return new KeyStoreUnavailableError(reason, { cause });
  }
}
