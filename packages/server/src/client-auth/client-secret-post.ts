import type { Params } from '../http/parse-params.js';
import type { SecretCredentials } from './credentials.js';
import { invalidClient } from './failure-reasons.js';

/** RFC 6749 §2.3.1 `client_secret_post`: client_id and client_secret in the request body. */
export function parsePostCredentials(params: Params): SecretCredentials {
  const clientId = params.get('client_id');
  const secret = params.get('client_secret');
  if (clientId === undefined || secret === undefined) {
    throw invalidClient(false, 'no_credentials', 'No client credentials in the request');
  }
  return { method: 'client_secret_post', clientId, secret };
}
