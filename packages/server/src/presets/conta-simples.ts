import { STATUS_CODES } from 'node:http';
import { contaSimplesProvider, type OAuthError } from '@tessera/protocol';
import { ParameterError } from './parameter-error.js';
import type { ErrorReply, ErrorShapeContext, Preset } from './preset.js';

/** The messages Conta Simples documents for these statuses, answered as written. */
const documentedMessages: Readonly<Record<number, string>> = {
  400: 'The request contains invalid parameters or malformed data',
  401: 'Authentication required. Please provide a valid API token',
  500: 'An unexpected error occurred on the server',
};

/** The field an error is about, for `details[]`. */
function fieldOf(error: OAuthError): string | undefined {
  if (error instanceof ParameterError) return error.parameter;
  if (error.error === 'unsupported_grant_type') return 'grant_type';
  if (error.error === 'invalid_scope') return 'scope';
  return undefined;
}

/**
 * Conta Simples' error body: `{"error": <HTTP reason phrase>, "message", "code": <status>}`,
 * plus `details[]` (`{field, message}`) on 400 and the `requestId` on 5xx. The status and
 * headers (`WWW-Authenticate`, `Retry-After`) stay those of the OAuth error.
 */
export function contaSimplesErrorShape(
  error: OAuthError,
  { requestId }: ErrorShapeContext,
): ErrorReply {
  const { status } = error;
  const body: Record<string, unknown> = {
    error: STATUS_CODES[status] ?? 'Error',
    message: documentedMessages[status] ?? error.description,
    code: status,
  };
  if (status === 400) {
    const field = fieldOf(error);
    body.details = [
      field === undefined ? { message: error.description } : { field, message: error.description },
    ];
  }
  if (status >= 500) body.requestId = requestId;
  return { status, headers: error.headers, body };
}

/**
 * Conta Simples ("Get access token" / "Obter Token de Acesso"): `POST /oauth/v1/access-token`,
 * credentials only as `Authorization: Basic base64(api_key:api_secret)`, a urlencoded body of
 * only `grant_type=client_credentials`. The English page says tokens last 1800 s, the
 * Portuguese one 3600 s: 3600 here; register a client with `--token-ttl 1800` for the other.
 */
export const contaSimples: Preset = {
  name: contaSimplesProvider.name,
  tokenPath: contaSimplesProvider.tokenPath,
  authMethods: ['client_secret_basic'],
  bodyTypes: ['urlencoded'],
  requiredParams: [],
  allowedParams: ['grant_type'],
  defaultTokenTtl: 3600,
  hosts: contaSimplesProvider.hosts,
  errorShape: contaSimplesErrorShape,
};
