import pg from 'pg';

/** Schema names Tessera accepts in `?schema=`: plain identifiers, no quoting games. */
const schemaPattern = /^[A-Za-z_][A-Za-z0-9_]{0,62}$/;

export interface PostgresConnection {
  /** Client settings for the pool and the LISTEN connection alike. */
  config: pg.ClientConfig;
  /** The schema named by `?schema=`, created by `migrate()`; undefined = the search_path's. */
  schema: string | undefined;
}

/** bigint (OID 20) columns hold epoch seconds and change sequence numbers: safe as numbers. */
const int8Oid = 20;
/**
 * jsonb (OID 3802) stays text, as SQLite's JSON columns are, so both drivers return the same
 * rows and one mapping (store/rows.ts) decodes them.
 */
const jsonbOid = 3802;
const asText = (value: string) => value;
const types = {
  getTypeParser: ((oid: number, format?: 'text' | 'binary') =>
    format === 'binary'
      ? pg.types.getTypeParser(oid, format)
      : oid === int8Oid
        ? Number
        : oid === jsonbOid
          ? asText
          : pg.types.getTypeParser(oid, format)) as typeof pg.types.getTypeParser,
};

/**
 * Reads a `postgres://…` URL. Beyond what node-postgres understands (`application_name`,
 * `options`, `sslmode`…), `?schema=NAME` keeps Tessera's tables in schema NAME (created on
 * migrate), which lets several deployments or test runs share one database.
 */
export function postgresConnection(url: string): PostgresConnection {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new Error('--database: the PostgreSQL URL is malformed');
  }
  const schema = parsed.searchParams.get('schema') ?? undefined;
  parsed.searchParams.delete('schema');
  if (schema !== undefined) {
    if (!schemaPattern.test(schema))
      throw new Error(
        `--database: ?schema= must be a plain identifier, got ${JSON.stringify(schema)}`,
      );
    // node-postgres lets the URL win over explicit settings, so the search_path goes in it.
    const options = parsed.searchParams.get('options');
    parsed.searchParams.set('options', `${options ? `${options} ` : ''}-c search_path=${schema}`);
  }
  if (!parsed.searchParams.has('application_name'))
    parsed.searchParams.set('application_name', 'tessera');
  return {
    schema,
    config: {
      connectionString: parsed.toString(),
      // A stalled connect must not hold a request (or the change feed) for long.
      connectionTimeoutMillis: 5_000,
      keepAlive: true,
      types,
    },
  };
}
