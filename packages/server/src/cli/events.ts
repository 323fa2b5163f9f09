import { eventSeq, wireEvent } from '../events/event-types.js';
import { openStore, parseDatabaseUrl } from '../store/open-store.js';
import { cliConfig, databaseOption, parse } from './common.js';
import { UsageError } from './usage.js';

/** How often `events tail` looks for new events when no change hint arrives. */
const pollMs = 500;

/**
 * `tessera events tail [--since ID]`: prints events as they are committed, one JSON line each
 * (the webhook's body), until interrupted. From the newest event on, or after event `ID`
 * (`--since 0` from the oldest still kept). Reads the database like every command, so it works
 * with or without a running server.
 */
export async function eventsCommand(args: string[]): Promise<void> {
  const [sub, ...rest] = args;
  if (sub !== 'tail')
    throw new UsageError(sub ? `unknown events command: ${sub}` : 'events needs a command: tail');
  const { values, positionals } = parse(rest, { ...databaseOption, since: { type: 'string' } });
  if (positionals.length > 0) throw new UsageError('events tail takes no arguments');
  const since = values.since === undefined ? undefined : eventSeq(values.since);
  if (values.since !== undefined && since === undefined)
    throw new UsageError('--since must be an event id (evt_…) or 0');
  const store = await openStore(parseDatabaseUrl(cliConfig(values).database));
  let cursor = since ?? (await store.latestEventSeq());
  let stopped = false;
  let wake: (() => void) | undefined;
  const stop = () => {
    stopped = true;
    wake?.();
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  // A reader that went away (`| head`) ends the tail quietly.
  process.stdout.on('error', stop);
  const unwatch = store.watch(() => wake?.());
  try {
    while (!stopped) {
      const events = await store.listEvents(cursor, 100);
      for (const event of events) process.stdout.write(`${JSON.stringify(wireEvent(event))}\n`);
      cursor = events.at(-1)?.seq ?? cursor;
      if (events.length === 100) continue;
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, pollMs);
        wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
    }
  } finally {
    unwatch();
    await store.close();
  }
}
