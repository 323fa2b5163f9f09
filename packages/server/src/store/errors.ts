/**
 * The store cannot reach its database right now (connection refused, reset or terminated,
 * server shutting down). The operation may be retried; a write that failed this way was not
 * acknowledged. The HTTP layer answers it with 503 `temporarily_unavailable`.
 */
export class StoreUnavailableError extends Error {
  readonly code = 'ERR_TESSERA_STORE_UNAVAILABLE';
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'StoreUnavailableError';
  }
}

/** Socket-level failures: the database is unreachable or the connection broke. */
const socketCodes = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ECONNABORTED',
  'EPIPE',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENOTFOUND',
  'EAI_AGAIN',
]);

/**
 * PostgreSQL SQLSTATEs that mean "this connection or server is going away", not "your
 * statement is wrong": class 08 (connection exception), 57P01-57P03 (admin/crash shutdown,
 * cannot connect now) and 53300 (too many connections).
 */
function isUnavailableSqlState(code: string): boolean {
  return code.startsWith('08') || /^57P0[1-3]$/.test(code) || code === '53300';
}

/** Whether `error` says the database connection failed (rather than the statement). */
export function isConnectionError(error: unknown): boolean {
  if (error instanceof StoreUnavailableError) return true;
  if (!(error instanceof Error)) return false;
  const code = (error as { code?: unknown }).code;
  if (typeof code === 'string' && (socketCodes.has(code) || isUnavailableSqlState(code)))
    return true;
  // node-postgres reports broken connections by message only.
  return /Connection terminated|connection error and is not queryable|timeout exceeded when trying to connect|Client was closed and is not queryable/i.test(
    error.message,
  );
}

/** Wraps connection failures as {@link StoreUnavailableError}; anything else passes through. */
export function storeError(error: unknown): unknown {
  if (error instanceof StoreUnavailableError || !isConnectionError(error)) return error;
  return new StoreUnavailableError(`the database is unavailable: ${(error as Error).message}`, {
    cause: error,
  });
}

/**
 * The database answers but refuses writes (disk full, read-only file or server): reads, and
 * so token issuance from cache, keep working; writes fail with a 503 that names the reason.
 */
export class StoreWritesRefusedError extends StoreUnavailableError {
  constructor(
    readonly reason: string,
    options?: ErrorOptions,
  ) {
    super(`the database refuses writes: ${reason}`, options);
    this.name = 'StoreWritesRefusedError';
  }
}

const sqliteWriteReasons: Array<[RegExp, string]> = [
  [/^SQLITE_FULL/, 'disk full'],
  [/^SQLITE_READONLY/, 'read-only database'],
  [/^SQLITE_IOERR/, 'I/O error'],
  [/^SQLITE_CANTOPEN/, 'cannot open the database file'],
];
const postgresWriteReasons: Record<string, string> = {
  '25006': 'read-only database',
  '53100': 'disk full',
  '53200': 'out of memory',
};

/** Maps a write failure to {@link StoreWritesRefusedError} when it is the storage refusing. */
export function writeError(error: unknown): unknown {
  const code = (error as { code?: unknown })?.code;
  if (typeof code !== 'string') return error;
  const sqlite = sqliteWriteReasons.find(([pattern]) => pattern.test(code));
  const reason = sqlite?.[1] ?? postgresWriteReasons[code];
  return reason ? new StoreWritesRefusedError(reason, { cause: error }) : error;
}

/**
 * Issue 21: creating a client whose client_id any tenant already holds (client ids are
 * globally unique). The message names neither the holder nor its tenant.
 */
export class ClientIdTakenError extends Error {
  override name = 'ClientIdTakenError';
  constructor(readonly clientId: string) {
    super(`a client with client_id ${clientId} already exists`);
  }
}
