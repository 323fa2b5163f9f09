/**
 * An instance near a PostgreSQL streaming replica (`--database-replica URL`, repeatable):
 * reads from the replica, writes to the primary. LISTEN/NOTIFY does not cross replication, so
 * change hints come from polling the replica's change sequence instead; a replica replays a
 * change row in the same transaction as the data it names, so what the change feed announces
 * is always readable on the replica that announced it.
 */
import type {
  AuditEntry,
  Change,
  ClientPatch,
  ClientRecord,
  KeyPatch,
  KeyRecord,
  ClientPage,
  ClientPageQuery,
  ConsoleSessionRecord,
  NewClient,
  OperatorRecord,
  TenantOperatorRecord,
  ReplicationState,
  RevocationRecord,
  SecretChange,
  SequencedRevocation,
  Store,
  NewTenant,
  TenantPatch,
  TenantRecord,
} from '../contract.js';
import type { NewEvent, StoredEvent } from '../../events/event-types.js';
import type { EventFailure } from '../contract.js';
import { StoreUnavailableError, isConnectionError } from '../errors.js';
import type { SecretUse, SqlDriver } from '../sql-driver.js';
import type { WriteHealth } from '../write-guard.js';
import {
  lsnValue,
  primaryLsn,
  readReplicaStatus,
  replayedLsn,
  type ReplicaStatus,
} from './replica-status.js';

/** One replica: the store reading it and the driver underneath (for its status). */
export interface Replica {
  store: Store;
  driver: SqlDriver;
}

export interface ReplicatedStoreOptions {
  /** How often the replica's change sequence and lag are read (ms); at most a second. */
  pollMs?: number;
  /** Longest a write waits for the replica to replay it before returning anyway (ms). */
  catchUpMs?: number;
}

/** The replica poller's state, one per replicated store and shared by its tenant views. */
interface PollState {
  watchers: Set<() => void>;
  current: number;
  timer: NodeJS.Timeout | undefined;
  polling: Promise<void> | undefined;
  seenSeq: number;
  state: ReplicationState;
}

const defaultPollMs = 500;
const defaultCatchUpMs = 3_000;

/** Store reads that change sequence numbers and every cache depend on: all go to a replica. */
export class ReplicatedStore implements Store {
  readonly kind = 'postgres';
  readonly #primary: Store & { writeHealth: WriteHealth };
  readonly #primaryDriver: SqlDriver;
  readonly #replicas: readonly Replica[];
  readonly #pollMs: number;
  readonly #catchUpMs: number;
  readonly tenant: string;
  /** Shared by the tenant-scoped views of one replicated store (issue 21): one poller. */
  readonly #s: PollState;
  readonly #scoped = new Map<string, ReplicatedStore>();

  constructor(
    primary: Store & { writeHealth: WriteHealth },
    primaryDriver: SqlDriver,
    replicas: readonly Replica[],
    options: ReplicatedStoreOptions = {},
    shared?: PollState,
  ) {
    if (replicas.length === 0) throw new Error('ReplicatedStore: no replica');
    this.#primary = primary;
    this.#primaryDriver = primaryDriver;
    this.#replicas = replicas;
    this.#pollMs = Math.min(options.pollMs ?? defaultPollMs, 1_000);
    this.#catchUpMs = options.catchUpMs ?? defaultCatchUpMs;
    this.tenant = primary.tenant;
    this.#s = shared ?? {
      watchers: new Set(),
      current: 0,
      timer: undefined,
      polling: undefined,
      seenSeq: -1,
      state: {
        reachable: false,
        lagSeconds: null,
        streaming: null,
        current: 0,
        replicas: replicas.length,
      },
    };
  }

  /** The same replica set read within one tenant: the primary's and each replica's scoped store. */
  forTenant(name: string): Store {
    if (name === this.tenant) return this;
    let scoped = this.#scoped.get(name);
    if (!scoped) {
      const primary = this.#primary.forTenant(name) as Store & { writeHealth: WriteHealth };
      const replicas = this.#replicas.map(({ store, driver }) => ({
        store: store.forTenant(name),
        driver,
      }));
      scoped = new ReplicatedStore(
        primary,
        this.#primaryDriver,
        replicas,
        { pollMs: this.#pollMs, catchUpMs: this.#catchUpMs },
        this.#s,
      );
      this.#scoped.set(name, scoped);
    }
    return scoped;
  }

  listTenants(): Promise<TenantRecord[]> {
    return this.#read((store) => store.listTenants());
  }
  getTenant(name: string): Promise<TenantRecord | undefined> {
    return this.#read((store) => store.getTenant(name));
  }
  createTenant(tenant: NewTenant, audit?: readonly AuditEntry[]): Promise<TenantRecord> {
    return this.#write(() => this.#primary.createTenant(tenant, audit));
  }
  updateTenant(
    name: string,
    patch: TenantPatch,
    audit?: readonly AuditEntry[],
  ): Promise<TenantRecord | undefined> {
    return this.#write(() => this.#primary.updateTenant(name, patch, audit));
  }
  deleteTenant(name: string, audit?: readonly AuditEntry[]): Promise<boolean> {
    return this.#write(() => this.#primary.deleteTenant(name, audit));
  }

  get writeHealth(): WriteHealth {
    return this.#primary.writeHealth;
  }

  /** The replica as of the latest poll (polls run while the store is watched). */
  get replication(): ReplicationState {
    return { ...this.#s.state, current: this.#s.current };
  }

  /** Migrates the primary, then waits for the replica to have the schema. */
  async migrate(): Promise<void> {
    await this.#primary.migrate();
    await this.#caughtUp();
  }

  async close(): Promise<void> {
    this.#s.watchers.clear();
    this.#stopPolling();
    await this.#s.polling;
    await Promise.all([this.#primary.close(), ...this.#replicas.map((r) => r.store.close())]);
  }

  /** Readiness is the replica's: it is what this instance reads, and where it hears of changes. */
  ping(): Promise<void> {
    return this.#read((store) => store.ping());
  }

  // Reads: the replica.
  getClient(clientId: string): Promise<ClientRecord | undefined> {
    return this.#read((store) => store.getClient(clientId));
  }
  listClients(): Promise<ClientRecord[]> {
    return this.#read((store) => store.listClients());
  }
  listClientPage(query: ClientPageQuery): Promise<ClientPage> {
    return this.#read((store) => store.listClientPage(query));
  }
  tokenLifetimes(): Promise<{ longest: number | null; someDefault: boolean }> {
    return this.#read((store) => store.tokenLifetimes());
  }
  listKeys(): Promise<KeyRecord[]> {
    return this.#read((store) => store.listKeys());
  }
  getSetting(name: string): Promise<string | undefined> {
    return this.#read((store) => store.getSetting(name));
  }
  listSettings(): Promise<Array<{ name: string; value: string }>> {
    return this.#read((store) => store.listSettings());
  }
  listRevocations(afterSeq?: number): Promise<SequencedRevocation[]> {
    return this.#read((store) => store.listRevocations(afterSeq));
  }
  listAudit(limit: number, filter?: { actor?: string | undefined }): Promise<AuditEntry[]> {
    return this.#read((store) => store.listAudit(limit, filter));
  }
  latestChange(): Promise<number> {
    return this.#read((store) => store.latestChange());
  }
  changesSince(cursor: number): Promise<{ changes: Change[]; cursor: number }> {
    return this.#read((store) => store.changesSince(cursor));
  }

  // Writes: the primary, then (bounded) wait until the replica has replayed them, so that what
  // this instance wrote it also reads (an admin call that creates a client then shows it).
  createClient(client: NewClient, audit?: readonly AuditEntry[]): Promise<ClientRecord> {
    return this.#write(() => this.#primary.createClient(client, audit));
  }
  importClients(clients: readonly NewClient[]): Promise<number> {
    return this.#write(() => this.#primary.importClients(clients));
  }
  updateClient(
    clientId: string,
    patch: ClientPatch,
    audit?: readonly AuditEntry[],
  ): Promise<ClientRecord | undefined> {
    return this.#write(() => this.#primary.updateClient(clientId, patch, audit));
  }
  deleteClient(clientId: string, audit?: readonly AuditEntry[]): Promise<boolean> {
    return this.#write(() => this.#primary.deleteClient(clientId, audit));
  }
  changeSecrets(
    clientId: string,
    change: SecretChange,
    audit?: readonly AuditEntry[],
  ): Promise<void> {
    return this.#write(() => this.#primary.changeSecrets(clientId, change, audit));
  }
  /** Last-use hints: nothing reads them back on this path, so no wait. */
  recordSecretUse(uses: readonly SecretUse[]): Promise<void> {
    return this.#primary.recordSecretUse(uses);
  }
  insertKey(key: KeyRecord): Promise<void> {
    return this.#write(() => this.#primary.insertKey(key));
  }
  updateKey(
    kid: string,
    patch: Partial<Pick<KeyRecord, 'state' | 'activatesAt' | 'retiresAt'>>,
  ): Promise<void> {
    return this.#write(() => this.#primary.updateKey(kid, patch));
  }
  insertKeyIfNoneActive(key: KeyRecord): Promise<boolean> {
    return this.#write(() => this.#primary.insertKeyIfNoneActive(key));
  }
  transitionKeys(
    plan: (keys: readonly KeyRecord[]) => { patches: KeyPatch[]; insert?: KeyRecord[] },
  ): Promise<boolean> {
    return this.#write(() => this.#primary.transitionKeys(plan));
  }
  rewrap(update: {
    keys: Array<{ kid: string; encryptedPrivateKey: string }>;
    settings: Array<{ name: string; value: string }>;
  }): Promise<void> {
    const rewrap = this.#primary.rewrap;
    if (!rewrap) throw new Error('the primary store cannot rewrap keys');
    return this.#write(() => rewrap.call(this.#primary, update));
  }
  ensureSetting(name: string, value: string): Promise<string> {
    return this.#write(() => this.#primary.ensureSetting(name, value));
  }
  setSetting(name: string, value: string): Promise<void> {
    return this.#write(() => this.#primary.setSetting(name, value));
  }
  addRevocation(revocation: RevocationRecord): Promise<number> {
    return this.#write(() => this.#primary.addRevocation(revocation));
  }
  prune(now: number, changesBefore: number): Promise<number> {
    return this.#primary.prune(now, changesBefore);
  }
  appendAudit(entry: AuditEntry): Promise<void> {
    return this.#write(() => this.#primary.appendAudit(entry));
  }

  // Console sessions and operators: the primary, reads too. A session is written at sign-in
  // and touched on every console request; reading it back from a replica would have each
  // request wait for replication. Without the primary there is no administering anyway.
  putConsoleSession(session: ConsoleSessionRecord): Promise<void> {
    return this.#primary.putConsoleSession(session);
  }
  getConsoleSession(id: string): Promise<ConsoleSessionRecord | undefined> {
    return this.#primary.getConsoleSession(id);
  }
  touchConsoleSession(id: string, lastSeenAt: number): Promise<void> {
    return this.#primary.touchConsoleSession(id, lastSeenAt);
  }
  deleteConsoleSession(id: string): Promise<boolean> {
    return this.#primary.deleteConsoleSession(id);
  }
  listOperators(): Promise<OperatorRecord[]> {
    return this.#primary.listOperators();
  }
  getOperator(email: string): Promise<OperatorRecord | undefined> {
    return this.#primary.getOperator(email);
  }
  putOperator(operator: OperatorRecord): Promise<void> {
    return this.#primary.putOperator(operator);
  }
  removeOperator(email: string): Promise<boolean> {
    return this.#primary.removeOperator(email);
  }
  listTenantOperators(tenant?: string): Promise<TenantOperatorRecord[]> {
    return this.#primary.listTenantOperators(tenant);
  }
  tenantRolesOf(email: string): Promise<TenantOperatorRecord[]> {
    return this.#primary.tenantRolesOf(email);
  }
  putTenantOperator(operator: TenantOperatorRecord): Promise<void> {
    return this.#primary.putTenantOperator(operator);
  }
  removeTenantOperator(tenant: string, email: string): Promise<boolean> {
    return this.#primary.removeTenantOperator(tenant, email);
  }

  // The events outbox (issue 18): the primary, reads too. Delivery state is written on every
  // attempt, and `events tail` must see an event as soon as its change commits.
  appendEvents(events: readonly NewEvent[]): Promise<void> {
    return this.#primary.appendEvents(events);
  }
  latestEventSeq(): Promise<number> {
    return this.#primary.latestEventSeq();
  }
  listEvents(afterSeq: number, limit: number): Promise<StoredEvent[]> {
    return this.#primary.listEvents(afterSeq, limit);
  }
  undeliveredEvents(limit: number): Promise<Array<StoredEvent & { nextAttemptAt: number }>> {
    return this.#primary.undeliveredEvents(limit);
  }
  markEventDelivered(seq: number, at: number): Promise<void> {
    return this.#primary.markEventDelivered(seq, at);
  }
  recordEventFailure(seq: number, failure: EventFailure): Promise<void> {
    return this.#primary.recordEventFailure(seq, failure);
  }
  holdLease(name: string, holder: string, now: number, until: number): Promise<boolean> {
    return this.#primary.holdLease(name, holder, now, until);
  }

  /**
   * Polls the replica's newest change (and its lag) every `pollMs` while watched, and hints
   * when it moved, or when the replica answers again after an outage (the feed then catches
   * up from the cursor the caches kept).
   */
  watch(onChange: () => void): () => void {
    this.#s.watchers.add(onChange);
    if (!this.#s.timer) {
      this.#s.timer = setInterval(() => void this.#poll(), this.#pollMs);
      this.#s.timer.unref();
      void this.#poll();
    }
    return () => {
      this.#s.watchers.delete(onChange);
      if (this.#s.watchers.size === 0) this.#stopPolling();
    };
  }

  /** Hinted by polling: nothing to check on the request path. */
  hasForeignChanges(): boolean {
    return false;
  }

  #stopPolling(): void {
    clearInterval(this.#s.timer);
    this.#s.timer = undefined;
  }

  #poll(): Promise<void> {
    this.#s.polling ??= (async () => {
      let status: ReplicaStatus;
      try {
        status = await this.#read((_store, driver) => readReplicaStatus(driver));
      } catch {
        this.#s.state = { ...this.#s.state, reachable: false, streaming: null };
        return;
      }
      const recovered = !this.#s.state.reachable;
      this.#s.state = {
        ...this.#s.state,
        reachable: true,
        lagSeconds: status.lagSeconds,
        streaming: status.streaming,
      };
      if (status.seq === this.#s.seenSeq && !recovered) return;
      this.#s.seenSeq = status.seq;
      for (const watcher of this.#s.watchers) watcher();
    })().finally(() => {
      this.#s.polling = undefined;
    });
    return this.#s.polling;
  }

  /**
   * Runs a read on the current replica; when it cannot be reached, on the next one (which
   * then stays current). Only connection failures move on: a wrong statement is wrong anywhere.
   */
  async #read<T>(fn: (store: Store, driver: SqlDriver) => Promise<T>): Promise<T> {
    let failure: unknown;
    for (let tried = 0; tried < this.#replicas.length; tried += 1) {
      const index = (this.#s.current + tried) % this.#replicas.length;
      const replica = this.#replicas[index]!;
      try {
        const result = await fn(replica.store, replica.driver);
        this.#s.current = index;
        return result;
      } catch (error) {
        if (!isConnectionError(error)) throw error;
        failure = error;
      }
    }
    throw failure instanceof StoreUnavailableError
      ? failure
      : new StoreUnavailableError('no database replica is reachable', { cause: failure });
  }

  async #write<T>(fn: () => Promise<T>): Promise<T> {
    const result = await fn();
    await this.#caughtUp();
    return result;
  }

  /** Waits (at most `catchUpMs`) until the current replica has replayed the primary's WAL so far. */
  async #caughtUp(): Promise<void> {
    const deadline = Date.now() + this.#catchUpMs;
    try {
      const target = lsnValue(await primaryLsn(this.#primaryDriver));
      for (;;) {
        const lsn = await this.#read((_store, driver) => replayedLsn(driver));
        if (lsnValue(lsn) >= target || Date.now() >= deadline) return;
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
    } catch {
      // The write is committed; a replica that cannot be asked only delays the read-back.
    }
  }
}
