import { openStore, parseDatabaseUrl } from '../store/open-store.js';
import { cliConfig, databaseOption, parse, print, printJson, tenantOption } from './common.js';
import { tenantStore } from '../tenants/tenant-input.js';
import { auditView } from '../views/record-views.js';
import { table } from './output.js';
import { UsageError } from './usage.js';

export async function auditCommand(args: string[]): Promise<void> {
  const [sub, ...rest] = args;
  if (sub !== 'list')
    throw new UsageError(sub ? `unknown audit command: ${sub}` : 'audit needs a command: list');
  const { values, positionals } = parse(rest, {
    ...databaseOption,
    ...tenantOption,
    limit: { type: 'string' },
    actor: { type: 'string' },
    json: { type: 'boolean' },
  });
  if (positionals.length > 0) throw new UsageError('audit list takes no arguments');
  if (values.limit !== undefined && !/^[1-9]\d{0,5}$/.test(values.limit))
    throw new UsageError('--limit must be a whole number from 1');
  const root = await openStore(parseDatabaseUrl(cliConfig(values).database));
  try {
    const store = await tenantStore(root, values.tenant);
    const entries = (
      await store.listAudit(values.limit === undefined ? 100 : Number(values.limit), {
        actor: values.actor,
      })
    ).map(auditView);
    if (values.json) return printJson(entries);
    print(
      entries.length === 0
        ? 'No audit entries.'
        : table(
            entries.map((entry) => ({
              ...entry,
              details: JSON.stringify(entry.details),
              from: entry.source_address ?? '',
            })),
            ['at', 'actor', 'from', 'action', 'target', 'details'],
          ),
    );
  } finally {
    await root.close();
  }
}
