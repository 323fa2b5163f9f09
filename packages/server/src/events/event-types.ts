import type { AuditEntry, KeyPatch, KeyRecord } from '../store/contract.js';

/**
 * Every event type a webhook receiver may see. `quota.exceeded` is declared for receivers to
 * plan for, but nothing emits it yet: Tessera has no quotas. `operator.signed_in` is a console
 * session starting (store/sql-store.ts `putConsoleSession`).
 */
export const eventTypes = [
  'client.created',
  'client.updated',
  'client.secret_rotated',
  'client.disabled',
  'client.enabled',
  'client.deleted',
  'key.published',
  'key.activated',
  'key.retired',
  'lockout.started',
  'lockout.ended',
  'quota.exceeded',
  'operator.signed_in',
] as const;
export type EventType = (typeof eventTypes)[number];

/** An event as written to the outbox, in the transaction of the change it describes. */
export interface NewEvent {
  type: EventType;
  /** The client concerned, if any: delivery keeps each client's events in order. */
  clientId: string | null;
  /** Never a secret: ids, names, states and times only. */
  data: Record<string, unknown>;
  /** Epoch milliseconds. */
  at: number;
}

/** An event as read back from the outbox. */
export interface StoredEvent extends NewEvent {
  /** Position in the outbox (increasing in commit order). */
  seq: number;
  /** The event's id on the wire: stable across redeliveries, for de-duplication. */
  id: string;
  tenant: string;
  attempts: number;
  deliveredAt: number | null;
}

/** The JSON body of one webhook POST (and one line of `tessera events tail`). */
export interface WireEvent {
  id: string;
  type: EventType;
  /** RFC 3339. */
  time: string;
  tenant: string;
  data: Record<string, unknown>;
}

export const wireEvent = (event: StoredEvent): WireEvent => ({
  id: event.id,
  type: event.type,
  time: new Date(event.at).toISOString(),
  tenant: event.tenant,
  data: event.data,
});

/** The wire id of the outbox row `seq`: `evt_` and the sequence number, zero-padded to sort. */
export const eventId = (seq: number) => `evt_${String(seq).padStart(12, '0')}`;

/** `evt_000000000042` (or a bare `42`) → 42. */
export function eventSeq(id: string): number | undefined {
  const match = /^(?:evt_)?(\d{1,15})$/.exec(id);
  return match ? Number(match[1]) : undefined;
}

/**
 * The events a client change's audit entries describe. Client writes already take their audit
 * entries into the transaction that makes the change (store/contract.ts), so deriving events
 * from them puts each event in that same transaction, with nothing for callers to forget.
 */
export function eventsForAudit(entries: readonly AuditEntry[]): NewEvent[] {
  const events: NewEvent[] = [];
  for (const entry of entries) {
    const clientId = entry.target;
    if (clientId === null) continue;
    const at = entry.at * 1000;
    const event = (type: EventType, data: Record<string, unknown> = {}) =>
      events.push({ type, clientId, at, data: { client_id: clientId, ...data } });
    const details = entry.details;
    switch (entry.action) {
      case 'client.create':
        event('client.created', {
          name: details.name,
          scope: details.scope,
          auth_method: details.auth_method,
        });
        break;
      case 'client.update':
        event('client.updated', { changed: Object.keys(details).sort() });
        break;
      case 'client.rotate_secret':
        event('client.secret_rotated', { grace_seconds: details.grace_seconds });
        break;
      case 'client.disable':
        event('client.disabled');
        break;
      case 'client.enable':
        event('client.enabled');
        break;
      case 'client.delete':
        event('client.deleted');
        break;
    }
  }
  return events;
}

const keyData = (key: KeyRecord) => ({
  kid: key.kid,
  alg: key.alg,
  state: key.state,
  activates_at: key.activatesAt,
  retires_at: key.retiresAt,
});

/** The events of a key write: inserted keys are published (and activated if active). */
export function eventsForKeys(
  before: readonly KeyRecord[],
  patches: readonly KeyPatch[],
  inserted: readonly KeyRecord[],
  at: number,
): NewEvent[] {
  const events: NewEvent[] = [];
  const push = (type: EventType, key: KeyRecord) =>
    events.push({ type, clientId: null, at, data: keyData(key) });
  for (const patch of patches) {
    const current = before.find((key) => key.kid === patch.kid);
    if (!current || patch.state === undefined || patch.state === current.state) continue;
    const after = { ...current, ...definedOnly(patch) };
    if (patch.state === 'active') push('key.activated', after);
    else if (patch.state === 'retired') push('key.retired', after);
  }
  for (const key of inserted) {
    push('key.published', key);
    if (key.state === 'active') push('key.activated', key);
  }
  return events;
}

function definedOnly<T extends object>(value: T): Partial<T> {
  return Object.fromEntries(
    Object.entries(value).filter(([, field]) => field !== undefined),
  ) as Partial<T>;
}
