import { ClientRegistry } from '../registry/client-registry.js';
import { tenantStore } from '../tenants/tenant-input.js';
import { openStorage } from '../runtime.js';
import {
  cliActor,
  cliConfig,
  databaseOption,
  tenantOption,
  type CommonFlags,
  onePositional,
  parse,
  print,
  printJson,
  runSubcommand,
} from './common.js';
import { clientView } from '../views/record-views.js';
import { table } from './output.js';
import { UsageError } from './usage.js';
import { authConfigInput, authConfigOptions } from './client-auth-options.js';
import { claimOptions, claimsInput } from './claim-options.js';

/** How long the previous secret keeps working after a rotation unless `--grace` says otherwise. */
export const defaultGraceSeconds = 86400;

async function withRegistry<T>(
  flags: CommonFlags & { tenant?: string | undefined },
  fn: (registry: ClientRegistry) => Promise<T>,
): Promise<T> {
  const config = cliConfig(flags);
  const { store, hasher } = await openStorage(config);
  try {
    return await fn(
      new ClientRegistry(await tenantStore(store, flags.tenant), hasher, {
        actor: cliActor(),
        fapiMaxTokenLifetime: config.fapiMaxTokenLifetime,
      }),
    );
  } finally {
    await store.close();
  }
}

export async function clientsCommand(args: string[]): Promise<void> {
  return runSubcommand(
    'clients',
    {
      create,
      update,
      list,
      show,
      disable: (rest) => setStatus(rest, 'disabled'),
      enable: (rest) => setStatus(rest, 'active'),
      delete: remove,
      'rotate-secret': rotateSecret,
    },
    args,
  );
}

async function create(args: string[]): Promise<void> {
  const { values, positionals } = parse(args, {
    ...databaseOption,
    ...tenantOption,
    ...clientFieldOptions,
    'client-id': { type: 'string' },
    'client-secret': { type: 'string' },
    json: { type: 'boolean' },
  });
  if (positionals.length > 0)
    throw new UsageError(`clients create takes no arguments, got ${positionals.join(' ')}`);
  const authConfig = await authConfigInput(values);
  const claims = await claimsInput(values);
  if (values.name === undefined) throw new UsageError('clients create needs --name');
  const ttl = values['token-ttl'];
  if (ttl !== undefined && !/^\d+$/.test(ttl))
    throw new UsageError('--token-ttl must be a whole number of seconds');
  if ((values['client-id'] === undefined) !== (values['client-secret'] === undefined)) {
    throw new UsageError('--client-id and --client-secret import a client together');
  }
  const { client, clientSecret } = await withRegistry(values, (registry) =>
    registry.create({
      name: values.name!,
      scope: values.scope,
      audiences: values.audience,
      tokenTtl: ttl === undefined ? null : Number(ttl),
      authMethod: values['auth-method'],
      clientId: values['client-id'],
      clientSecret: values['client-secret'],
      profile: values.profile,
      ...authConfig,
      ...quotaInput(values),
      claims,
    }),
  );
  const view = clientView(client);
  if (values.json) {
    const { client_id, secrets: _secrets, ...rest } = view;
    printJson({ client_id, client_secret: clientSecret, ...rest });
    return;
  }
  print(`client_id:     ${client.clientId}`);
  if (clientSecret === undefined) {
    print(`auth_method:   ${client.authMethod} (no client secret)`);
    return;
  }
  print(`client_secret: ${clientSecret}`);
  print('');
  print('Store the secret now: it is shown only this once and cannot be recovered.');
}

/** Issue 22: `--token-quota N/PERIOD[,…]` (`none` clears it) and `--reuse-tokens`. */
const quotaOptions = {
  'token-quota': { type: 'string' },
  'reuse-tokens': { type: 'boolean' },
  'no-reuse-tokens': { type: 'boolean' },
} as const;

/** The client fields both `clients create` and `clients update` set. */
const clientFieldOptions = {
  name: { type: 'string' },
  scope: { type: 'string' },
  audience: { type: 'string', multiple: true },
  'token-ttl': { type: 'string' },
  'auth-method': { type: 'string' },
  ...authConfigOptions,
  profile: { type: 'string' },
  ...quotaOptions,
  ...claimOptions,
} as const;

function quotaInput(values: {
  'token-quota'?: string | undefined;
  'reuse-tokens'?: boolean | undefined;
  'no-reuse-tokens'?: boolean | undefined;
}): { tokenQuota?: string | null; reuseTokens?: boolean } {
  if (values['reuse-tokens'] && values['no-reuse-tokens'])
    throw new UsageError('--reuse-tokens and --no-reuse-tokens contradict each other');
  const quota = values['token-quota'];
  return {
    ...(quota !== undefined ? { tokenQuota: quota === 'none' ? null : quota } : {}),
    ...(values['reuse-tokens'] ? { reuseTokens: true } : {}),
    ...(values['no-reuse-tokens'] ? { reuseTokens: false } : {}),
  };
}

/**
 * `clients update ID`: name, scope, audience, lifetime, token quota and reuse, and the claims
 * (`--claim` merges, `--unset-claim` removes, `--claims-file` replaces).
 */
async function update(args: string[]): Promise<void> {
  const { values, positionals } = parse(args, {
    ...databaseOption,
    ...tenantOption,
    ...clientFieldOptions,
    'unset-claim': { type: 'string', multiple: true },
    json: { type: 'boolean' },
  });
  const clientId = onePositional(positionals, 'client ID');
  const ttl = values['token-ttl'];
  if (ttl !== undefined && !/^\d+$/.test(ttl))
    throw new UsageError('--token-ttl must be a whole number of seconds');
  const fields = {
    name: values.name,
    scope: values.scope,
    audiences: values.audience,
    tokenTtl: ttl === undefined ? undefined : Number(ttl),
    authMethod: values['auth-method'],
    profile: values.profile,
    ...(await authConfigInput(values)),
    ...quotaInput(values),
  };
  const client = await withRegistry(values, async (registry) => {
    const current = await registry.get(clientId);
    // --claim and --unset-claim change the client's current claims; --claims-file replaces them.
    const claims = await claimsInput(values, current.claims);
    if (claims === undefined && Object.values(fields).every((value) => value === undefined))
      throw new UsageError('clients update needs --claim, --unset-claim or --claims-file');
    return registry.update(clientId, { ...fields, claims });
  });
  if (values.json) return printJson(clientView(client));
  print(`Client ${client.clientId} is updated.`);
}

async function list(args: string[]): Promise<void> {
  const { values, positionals } = parse(args, {
    ...databaseOption,
    ...tenantOption,
    json: { type: 'boolean' },
  });
  if (positionals.length > 0) throw new UsageError('clients list takes no arguments');
  const clients = (await withRegistry(values, (registry) => registry.list())).map(clientView);
  if (values.json) return printJson(clients);
  print(
    clients.length === 0
      ? 'No clients.'
      : table(clients, ['client_id', 'name', 'status', 'scope', 'auth_method', 'audience']),
  );
}

async function show(args: string[]): Promise<void> {
  const { values, positionals } = parse(args, {
    ...databaseOption,
    ...tenantOption,
    json: { type: 'boolean' },
  });
  const view = clientView(
    await withRegistry(values, (registry) => registry.get(onePositional(positionals, 'client ID'))),
  );
  if (values.json) return printJson(view);
  for (const [key, value] of Object.entries(view)) {
    if (key === 'secrets') continue;
    const shown =
      key === 'claims'
        ? JSON.stringify(value)
        : Array.isArray(value)
          ? value.join(', ') || '-'
          : (value ?? '-');
    print(`${`${key}:`.padEnd(14)} ${String(shown)}`);
  }
  print('secrets:');
  print(
    table(view.secrets, ['id', 'created_at', 'expires_at', 'last_used_at']).replace(/^/gm, '  '),
  );
}

async function setStatus(args: string[], status: 'active' | 'disabled'): Promise<void> {
  const { values, positionals } = parse(args, {
    ...databaseOption,
    ...tenantOption,
    json: { type: 'boolean' },
  });
  const client = await withRegistry(values, (registry) =>
    registry.setStatus(onePositional(positionals, 'client ID'), status),
  );
  if (values.json) return printJson(clientView(client));
  print(`Client ${client.clientId} is ${status === 'active' ? 'enabled' : 'disabled'}.`);
}

async function remove(args: string[]): Promise<void> {
  const { values, positionals } = parse(args, {
    ...databaseOption,
    ...tenantOption,
    json: { type: 'boolean' },
  });
  const clientId = onePositional(positionals, 'client ID');
  await withRegistry(values, (registry) => registry.delete(clientId));
  if (values.json) return printJson({ client_id: clientId, deleted: true });
  print(`Client ${clientId} is deleted.`);
}

async function rotateSecret(args: string[]): Promise<void> {
  const { values, positionals } = parse(args, {
    ...databaseOption,
    ...tenantOption,
    grace: { type: 'string' },
    json: { type: 'boolean' },
  });
  const clientId = onePositional(positionals, 'client ID');
  if (values.grace !== undefined && !/^\d+$/.test(values.grace))
    throw new UsageError('--grace must be a whole number of seconds');
  const grace = values.grace === undefined ? defaultGraceSeconds : Number(values.grace);
  const { client, clientSecret } = await withRegistry(values, (registry) =>
    registry.rotateSecret(clientId, grace),
  );
  const view = clientView(client);
  if (values.json)
    return printJson({
      client_id: client.clientId,
      client_secret: clientSecret,
      secrets: view.secrets,
    });
  print(`client_id:     ${client.clientId}`);
  print(`client_secret: ${clientSecret}`);
  print('');
  print('Store the new secret now: it is shown only this once and cannot be recovered.');
  const previous = view.secrets.slice(0, -1).find((secret) => secret.expires_at !== null);
  if (previous) print(`The previous secret keeps working until ${previous.expires_at}.`);
}
