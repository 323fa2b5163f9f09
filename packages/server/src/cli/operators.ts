import { isAdminRole } from '../endpoints/admin/admin-roles.js';
import { openStore, parseDatabaseUrl } from '../store/open-store.js';
import { cliActor, cliConfig, databaseOption, parse, print, printJson } from './common.js';
import { table } from './output.js';
import { UsageError } from './usage.js';

const iso = (seconds: number) => new Date(seconds * 1000).toISOString();

/**
 * `tessera operators add EMAIL --role ROLE | list | remove EMAIL`: the people Tessera itself
 * gives a console role, by the email their identity provider vouches for (verified emails
 * only). Each change is audited.
 */
export async function operatorsCommand(args: string[]): Promise<void> {
  const [sub, ...rest] = args;
  if (sub !== 'add' && sub !== 'list' && sub !== 'remove')
    throw new UsageError(
      sub ? `unknown operators command: ${sub}` : 'operators needs a command: add, list or remove',
    );
  const { values, positionals } = parse(rest, {
    ...databaseOption,
    role: { type: 'string' },
    json: { type: 'boolean' },
  });
  const wanted = sub === 'list' ? 0 : 1;
  if (positionals.length !== wanted)
    throw new UsageError(
      sub === 'list' ? 'operators list takes no arguments' : `operators ${sub} needs EMAIL`,
    );
  const email = positionals[0]?.toLowerCase();
  if (email !== undefined && !/^[^\s@]+@[^\s@]+$/.test(email))
    throw new UsageError(`not an email address: ${JSON.stringify(positionals[0])}`);
  if (sub === 'add' && !isAdminRole(values.role))
    throw new UsageError('operators add needs --role viewer, operator or admin');
  if (sub !== 'add' && values.role !== undefined)
    throw new UsageError(`operators ${sub} takes no --role`);

  const store = await openStore(parseDatabaseUrl(cliConfig(values).database));
  try {
    const now = Math.floor(Date.now() / 1000);
    const actor = cliActor();
    if (sub === 'list') {
      const operators = (await store.listOperators()).map((operator) => ({
        email: operator.email,
        role: operator.role,
        created_at: iso(operator.createdAt),
      }));
      if (values.json) return printJson(operators);
      return print(
        operators.length === 0
          ? 'No operators.'
          : table(operators, ['email', 'role', 'created_at']),
      );
    }
    if (sub === 'add') {
      await store.putOperator({ email: email!, role: values.role!, createdAt: now });
      await store.appendAudit({
        at: now,
        actor,
        action: 'operator.add',
        target: email!,
        details: { role: values.role },
      });
      if (values.json) return printJson({ email, role: values.role });
      return print(`${email} is an operator with the ${values.role} role.`);
    }
    if (!(await store.removeOperator(email!)))
      throw new Error(`${email} is not on the operator list`);
    await store.appendAudit({
      at: now,
      actor,
      action: 'operator.remove',
      target: email!,
      details: {},
    });
    if (values.json) return printJson({ email, removed: true });
    print(`${email} is no longer an operator (sessions already open end by their own timeouts).`);
  } finally {
    await store.close();
  }
}
